using System.Globalization;
using ActorEvents.Cli;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Supervision;
using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Users;
using ActorEvents.Messages;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Host.Tests.Cli;

/// <summary>The host's <c>dlq</c> verbs, run in-process against a real SQLite dead-letter store.</summary>
public sealed class DeadLetterCliTests : IDisposable
{
    private readonly TempSqliteDatabase _database = new();
    private readonly SqlDeadLetterStore _store;

    public DeadLetterCliTests()
    {
        var domain = new ActorEventsDomainBuilder().AddSampleDomain().Build();
        StorageConnection.PrepareSqliteAsync(_database.ConnectionString).GetAwaiter().GetResult();
        _store = new SqlDeadLetterStore("SQLite.MS", _database.ConnectionString, domain.Types);
        _store.InitializeAsync().GetAwaiter().GetResult();
    }

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Should_list_inspect_replay_skip_and_purge_dead_letters_from_the_command_line()
    {
        var first = await AddAsync("user-cli-1");

        var (listed, listing) = await RunAsync("dlq", "list");
        Assert.Equal(0, listed);
        Assert.Contains("WelcomeEmailHandler", listing, StringComparison.Ordinal);
        Assert.Contains("user-user-cli-1", listing, StringComparison.Ordinal);

        var (inspected, details) = await RunAsync("dlq", "inspect", first.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(0, inspected);
        Assert.Contains("user.created", details, StringComparison.Ordinal);
        Assert.Contains("SmtpUnavailable", details, StringComparison.Ordinal);
        Assert.Contains("at Smtp.Send", details, StringComparison.Ordinal);

        var (replayed, replayOutput) = await RunAsync("dlq", "replay", first.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(0, replayed);
        Assert.Contains($"Replayed dead letter {first}: handled; entry removed", replayOutput, StringComparison.Ordinal);
        Assert.Null(await _store.GetAsync(first));

        var second = await AddAsync("user-cli-2");
        var third = await AddAsync("user-cli-3");
        var fourth = await AddAsync("user-cli-4");
        var (skipped, _) = await RunAsync("dlq", "skip", second.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(0, skipped);
        Assert.Null(await _store.GetAsync(second));

        var (replayedAll, replayAllOutput) = await RunAsync("dlq", "replay-all", "--handler", "WelcomeEmailHandler");
        Assert.Equal(0, replayedAll);
        Assert.Contains("Replayed 2 dead letter(s): 2 succeeded", replayAllOutput, StringComparison.Ordinal);
        Assert.Null(await _store.GetAsync(third));
        Assert.Null(await _store.GetAsync(fourth));

        await AddAsync("user-cli-5");
        await AddAsync("user-cli-6");
        var (purged, purgeOutput) = await RunAsync("dlq", "purge");
        Assert.Equal(0, purged);
        Assert.Contains("Purged 2 dead letter(s)", purgeOutput, StringComparison.Ordinal);
        Assert.Empty(await _store.ListAsync(new DeadLetterFilter()));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("replay")]
    [InlineData("skip")]
    public async Task Should_exit_non_zero_with_a_clear_message_for_an_unknown_id(string verb)
    {
        var (exitCode, output) = await RunAsync("dlq", verb, "424242");

        Assert.Equal(AdminExitCodes.Refused, exitCode);
        Assert.Contains("There is no dead letter with id 424242", output, StringComparison.Ordinal);
    }

    private Task<long> AddAsync(string userId) => _store.AddAsync(new NewDeadLetter(
        "WelcomeEmailHandler",
        new EventEnvelope(Guid.CreateVersion7().ToString("N"), "user.created", 1, DateTimeOffset.UtcNow, "akka.tcp://actor-events@127.0.0.1:1",
            "user", userId, 1, "corr-cli", "cmd-cli", null, new UserCreated(userId, $"{userId}@example.org", userId)),
        new HandlerFailure("SmtpUnavailable", "the mail relay refused the connection", "SmtpUnavailable: refused\n   at Smtp.Send()", false),
        4,
        DateTimeOffset.UtcNow.AddMinutes(-1)));

    private Task<(int ExitCode, string Output)> RunAsync(params string[] args) => HostCli.RunAsync(_database.ConnectionString, args);
}
