using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Supervision;
using ActorEvents.Cli;
using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Users;
using ActorEvents.Host.Operations;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Cli;

/// <summary>
/// <c>dlq</c> and <c>subscriptions</c> with <c>--admin-url</c>, as separate processes against a real <c>serve</c> process on
/// SQLite: the requests run on the serving node (its live subscription figures, its handler pools), and the command starts
/// no node and opens no database (it is given a connection string nothing answers on). Without <c>--admin-url</c>, a replay
/// refuses to start a node of its own while a node of the configured cluster answers.
/// </summary>
public sealed class AdminApiTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    // A PostgreSQL server on a port nothing listens on: any use of the database by the command would fail it.
    private const string NoDatabase = "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=2";

    private readonly ProcessDatabase _database = ProcessDatabase.Sqlite();
    private readonly SqlDeadLetterStore _store;

    public AdminApiTests()
    {
        _store = new SqlDeadLetterStore("SQLite.MS", _database.ConnectionString, new ActorEventsDomainBuilder().AddSampleDomain().Build().Types);
    }

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Should_run_every_verb_on_the_serving_node_through_its_admin_api_without_a_node_or_database_of_its_own()
    {
        var (serve, admin) = await StartServeAsync();
        using var _ = serve;
        var first = await AddDeadLetterAsync("user-admin-1");
        var second = await AddDeadLetterAsync("user-admin-2");

        var (listed, listing, listingOutput) = await AdminAsync(admin, "dlq", "list", "--json", "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Akka=Information");
        Assert.True(listed == 0, listingOutput);
        var entries = JsonDocument.Parse(listing).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToArray();
        Assert.Equal([first, second], entries);
        Assert.DoesNotContain("Cluster Node", listingOutput, StringComparison.Ordinal); // no actor system started in the command

        var (inspected, details, _) = await AdminAsync(admin, "dlq", "inspect", first.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, inspected);
        Assert.Contains("user-admin-1@example.org", details, StringComparison.Ordinal);

        var (replayed, replayOutput, _) = await AdminAsync(admin, "dlq", "replay", first.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(replayed == 0, replayOutput);
        Assert.Contains($"Replayed dead letter {first}: handled; entry removed", replayOutput, StringComparison.Ordinal);
        Assert.Null(await _store.GetAsync(first)); // removed by the serving node: the command had no database

        var (skipped, _, _) = await AdminAsync(admin, "dlq", "skip", second.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, skipped);
        Assert.Empty(await _store.ListAsync(new DeadLetterFilter()));
        var (unknown, unknownOutput, _) = await AdminAsync(admin, "dlq", "replay", "424242");
        Assert.Equal(AdminExitCodes.Refused, unknown);
        Assert.Contains("There is no dead letter with id 424242", unknownOutput, StringComparison.Ordinal);

        // The subscriptions as their node sees them: running, with its address.
        var statuses = await StatusAsync(admin);
        Assert.Equal(["order-totals", "stock-levels", "order-shipments", "stock-on-shipment"], statuses.Select(s => s.Name));
        Assert.All(statuses, s => Assert.NotNull(s.Node));
        Assert.Contains(statuses, s => s.State == SubscriptionState.Running);

        var (paused, pauseOutput, _) = await AdminAsync(admin, "subscriptions", "pause", "order-totals");
        Assert.True(paused == 0, pauseOutput);
        Assert.Equal(SubscriptionState.Paused, (await StatusAsync(admin)).Single(s => s.Name == "order-totals").State);
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM ae_checkpoints WHERE subscription = 'order-totals' AND paused"));
        var (resumed, _, _) = await AdminAsync(admin, "subscriptions", "resume", "order-totals");
        Assert.Equal(0, resumed);
        var (rebuilt, rebuildOutput, _) = await AdminAsync(admin, "subscriptions", "rebuild", "order-totals");
        Assert.True(rebuilt == 0, rebuildOutput);
        Assert.Contains("order-totals: rebuild done", rebuildOutput, StringComparison.Ordinal);
        Assert.Contains("running", rebuildOutput, StringComparison.Ordinal);

        var (refused, refusedOutput, _) = await AdminAsync(admin, "subscriptions", "reset", "no-such-projection");
        Assert.Equal(AdminExitCodes.Refused, refused);
        Assert.Contains("UnknownSubscription", refusedOutput, StringComparison.Ordinal);
        var (notAProjection, notAProjectionOutput, _) = await AdminAsync(admin, "subscriptions", "rebuild", "order-shipments");
        Assert.Equal(AdminExitCodes.Refused, notAProjection);
        Assert.Contains("NotAProjection", notAProjectionOutput, StringComparison.Ordinal);
        Assert.False(serve.HasExited);
    }

    [Fact]
    public async Task Should_refuse_admin_requests_without_the_nodes_token_and_answer_them_with_it()
    {
        var (serve, admin) = await StartServeAsync("--ActorEvents:Operations:AdminToken=s3cret-token");
        using var _ = serve;

        var (without, _, withoutOutput) = await AdminAsync(admin, "subscriptions", "status", "--json");
        Assert.Equal(AdminExitCodes.Failed, without);
        Assert.Contains("401 Unauthorized", withoutOutput, StringComparison.Ordinal);
        var (wrong, _, _) = await AdminAsync(admin, "dlq", "list", "--admin-token", "not-it");
        Assert.Equal(AdminExitCodes.Failed, wrong);

        var (with, stdout, withOutput) = await AdminAsync(admin, "subscriptions", "status", "--json", "--admin-token", "s3cret-token");
        Assert.True(with == 0, withOutput);
        Assert.Equal(4, JsonDocument.Parse(stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Should_exit_with_a_clear_message_when_the_admin_url_does_not_answer()
    {
        var (exitCode, _, output) = await AdminAsync(HostProcess.AdminUrlOf(HostProcess.FreePort()), "dlq", "list");

        Assert.Equal(AdminExitCodes.Failed, exitCode);
        Assert.Contains("could not be reached", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_a_replay_on_the_tables_while_a_node_of_the_configured_cluster_answers_and_replay_nothing()
    {
        var port = HostProcess.FreePort();
        using var serve = HostProcess.Start(_database, port, "serve");
        await serve.WaitUntilListeningAsync(port, Timeout);
        var entry = await AddDeadLetterAsync("user-admin-3");

        // Configured as a member of that cluster, without --admin-url: reading works on the tables, a replay is refused.
        string[] member = [$"--ActorEvents:Node:SeedNodes:0={HostProcess.SeedOf(port)}"];
        var (listed, listing) = await HostProcess.RunAsync(_database, Timeout, ["dlq", "list", "--json", .. member]);
        Assert.True(listed == 0, listing);
        Assert.Contains("user-admin-3", listing, StringComparison.Ordinal);
        var (replayed, output) = await HostProcess.RunAsync(_database, Timeout, ["dlq", "replay", entry.ToString(System.Globalization.CultureInfo.InvariantCulture), .. member]);

        Assert.Equal(AdminExitCodes.ClusterRunning, replayed);
        Assert.True(output.Contains($"A cluster node answers at 127.0.0.1:{port}", StringComparison.Ordinal), output);
        Assert.Contains("--admin-url", output, StringComparison.Ordinal);
        Assert.NotNull(await _store.GetAsync(entry));
    }

    [Fact]
    public async Task Should_refuse_seed_nodes_on_the_admin_verbs()
    {
        var (exitCode, output) = await HostCli.RunAsync(_database.ConnectionString, "dlq", "list", "--seed", "akka.tcp://actor-events@127.0.0.1:4053");

        Assert.Equal(AdminExitCodes.UsageError, exitCode);
        Assert.Contains("join no cluster", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_exit_with_the_usage_error_code_for_an_admin_url_that_is_not_a_url()
    {
        var (exitCode, output) = await HostCli.RunAsync(_database.ConnectionString, "subscriptions", "status", "--admin-url", "not a url");

        Assert.Equal(AdminExitCodes.UsageError, exitCode);
        Assert.Contains("is not an http(s) URL", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", null, true)]
    [InlineData("localhost", null, true)]
    [InlineData("0.0.0.0", null, false)]
    [InlineData("0.0.0.0", "a-token", true)]
    public void Should_serve_the_admin_api_off_loopback_only_with_a_token(string hostname, string? token, bool served)
    {
        Assert.Equal(served, OperationsEndpoint.AdminApiServed(new OperationsOptions { Hostname = hostname, AdminToken = token }));
        Assert.False(OperationsEndpoint.AdminApiServed(new OperationsOptions { Hostname = hostname, AdminToken = token, Admin = false }));
    }

    /// <summary>A <c>serve</c> process with its operations endpoint, once it answers <c>/ready</c>; returns it and its admin URL.</summary>
    private async Task<(HostProcess Serve, string AdminUrl)> StartServeAsync(params string[] args)
    {
        var operationsPort = HostProcess.FreePort();
        var serve = HostProcess.Start(_database, ["serve", $"--ActorEvents:Operations:Port={operationsPort}", .. args]);
        var admin = HostProcess.AdminUrlOf(operationsPort);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(new Uri(admin), "ready"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return (serve, admin);
                }
            }
            catch (HttpRequestException) when (!serve.HasExited && DateTime.UtcNow < deadline)
            {
            }

            if (serve.HasExited || DateTime.UtcNow > deadline)
            {
                serve.Dispose();
                throw new TimeoutException($"serve did not become ready:\n{serve.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Runs a verb with <c>--admin-url</c> and a database nothing answers on; returns the exit code, stdout and all output.</summary>
    private static async Task<(int ExitCode, string StandardOutput, string Output)> AdminAsync(string adminUrl, params string[] args)
    {
        using var process = HostProcess.StartOn("postgresql", NoDatabase, 0, [.. args, "--admin-url", adminUrl]);
        var exitCode = await process.WaitForExitAsync(Timeout);
        return (exitCode, process.StandardOutput, process.Output);
    }

    private static async Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(string admin)
    {
        var (exitCode, stdout, output) = await AdminAsync(admin, "subscriptions", "status", "--json");
        Assert.True(exitCode == 0, output);
        return JsonSerializer.Deserialize<SubscriptionStatus[]>(stdout, Json)!;
    }

    private async Task<long> AddDeadLetterAsync(string userId)
    {
        await _store.InitializeAsync();
        return await _store.AddAsync(new NewDeadLetter(
            "WelcomeEmailHandler",
            new EventEnvelope(Guid.CreateVersion7().ToString("N"), "user.created", 1, DateTimeOffset.UtcNow, "akka.tcp://actor-events@127.0.0.1:1",
                "user", userId, 1, "corr-admin", "cmd-admin", null, new UserCreated(userId, $"{userId}@example.org", userId)),
            new HandlerFailure("SmtpUnavailable", "the mail relay refused the connection", null, false),
            4,
            DateTimeOffset.UtcNow.AddMinutes(-1)));
    }
}
