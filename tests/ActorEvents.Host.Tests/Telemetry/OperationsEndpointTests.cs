using System.Net;
using System.Text.Json;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Operations;

namespace ActorEvents.Host.Tests.Telemetry;

/// <summary>
/// The operations port of <c>serve</c>: Prometheus scrape endpoint (<c>/metrics</c>), liveness (<c>/healthz</c>) and
/// readiness (<c>/ready</c>) on one 127.0.0.1 port — in-process next to a node, and in the real host process.
/// </summary>
public sealed class OperationsEndpointTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempSqliteDatabase _database = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _database.Dispose();
    }

    [Fact]
    public async Task Should_serve_the_metrics_of_commands_journal_handlers_pools_and_subscriptions_and_healthy_probes_on_one_port()
    {
        await using var node = await ActorEventsTestHost.StartAsync(SampleTestDomain.BuildNodeHost(
            ActorEventsTestHost.SqliteSettings(_database, new Dictionary<string, string?> { ["Subscriptions:MetricsInterval"] = "00:00:00.200" })));
        await using var endpoint = await OperationsEndpoint.StartAsync(node.Host, new OperationsOptions { Port = HostProcess.FreePort() });
        Assert.NotNull(endpoint);

        await node.AcceptAsync(new AddStock("sku-ops", 10));
        await node.AcceptAsync(new PlaceOrder("ops-1", "customer-ops", "sku-ops", 1, 5m));
        await node.AcceptAsync(new ShipOrder("ops-1"));
        // The sample's handlers run from durable subscriptions: their runs follow the commands' replies.
        var metrics = await EventuallyAsync(endpoint.Address, "metrics", body => body.Contains("actorevents_subscription_checkpoint{", StringComparison.Ordinal)
            && body.Contains("actorevents_handler_runs_total{", StringComparison.Ordinal));

        Assert.Contains("actorevents_commands_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_command_type=\"PlaceOrder\"", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_outcome=\"accepted\"", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_command_duration_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_events_persisted_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_journal_write_duration_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_journal_transaction_events_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_handler_runs_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_pool_queued{", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_pool=\"handler-pool\"", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_subscription=\"order-totals\"", metrics, StringComparison.Ordinal);
        Assert.Contains("actorevents_subscription_lag_events{", metrics, StringComparison.Ordinal);

        var (live, liveBody) = await GetAsync(new Uri(endpoint.Address, "healthz"));
        Assert.Equal(HttpStatusCode.OK, live);
        Assert.Equal("Healthy", Check(liveBody, "akka.actorsystem"));
        var (ready, readyBody) = await GetAsync(new Uri(endpoint.Address, "ready"));
        Assert.Equal(HttpStatusCode.OK, ready);
        Assert.Equal(["Healthy", "Healthy", "Healthy"], new[] { "cluster-member-up", "journal", "subscriptions" }.Select(c => Check(readyBody, c)));
    }

    [Fact]
    public async Task Should_answer_ready_503_while_the_node_is_not_an_up_member_and_healthz_200()
    {
        // The only seed is a port nobody listens on: the node runs, but never joins a cluster.
        var settings = ActorEventsTestHost.SqliteSettings(_database, new Dictionary<string, string?> { ["Node:SeedNodes:0"] = HostProcess.SeedOf(HostProcess.FreePort()) });
        using var node = SampleTestDomain.BuildNodeHost(settings);
        await node.StartAsync();
        try
        {
            await using var endpoint = await OperationsEndpoint.StartAsync(node, new OperationsOptions { Port = HostProcess.FreePort() });

            var (ready, readyBody) = await GetAsync(new Uri(endpoint!.Address, "ready"));
            var (live, _) = await GetAsync(new Uri(endpoint.Address, "healthz"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
            Assert.Equal("Unhealthy", Check(readyBody, "cluster-member-up"));
            Assert.Equal("Healthy", Check(readyBody, "journal"));
            Assert.Equal(HttpStatusCode.OK, live);
        }
        finally
        {
            await node.StopAsync();
        }
    }

    [Fact]
    public async Task Should_serve_metrics_and_health_from_the_real_serve_process_and_pass_its_probe_verb()
    {
        using var database = ProcessDatabase.Sqlite();
        var port = HostProcess.FreePort();
        using var serve = HostProcess.Start(database, "serve", $"--ActorEvents:Operations:Port={port}", "--ActorEvents:Subscriptions:MetricsInterval=00:00:00.500");
        var address = new Uri($"http://127.0.0.1:{port}/");
        await serve.WaitUntilListeningAsync(port, Timeout);

        await EventuallyAsync(address, "ready", _ => true, HttpStatusCode.OK);
        var metrics = await EventuallyAsync(address, "metrics", body => body.Contains("actorevents_subscription_checkpoint{", StringComparison.Ordinal));
        Assert.Contains("actorevents_pool_running{", metrics, StringComparison.Ordinal);
        Assert.Contains("service_name=\"actor-events\"", metrics, StringComparison.Ordinal);

        var (probed, probeOutput) = await HostProcess.RunAsync(database, Timeout, "probe", new Uri(address, "ready").ToString());
        Assert.True(probed == 0, probeOutput);
        var (failed, _) = await HostProcess.RunAsync(database, Timeout, "probe", $"http://127.0.0.1:{HostProcess.FreePort()}/ready");
        Assert.Equal(1, failed);
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(Uri uri)
    {
        using var response = await _http.GetAsync(uri);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GETs <paramref name="path"/> until it answers <paramref name="status"/> with a body that passes <paramref name="done"/>.</summary>
    private async Task<string> EventuallyAsync(Uri address, string path, Func<string, bool> done, HttpStatusCode status = HttpStatusCode.OK)
    {
        var deadline = DateTime.UtcNow + Timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var (code, body) = await GetAsync(new Uri(address, path));
                last = $"{(int)code}: {body}";
                if (code == status && done(body))
                {
                    return body;
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"/{path} did not answer as expected within {Timeout.TotalSeconds:0} s; last answer: {last}");
    }

    private static string? Check(string body, string name) =>
        JsonDocument.Parse(body).RootElement.GetProperty("checks").GetProperty(name).GetProperty("status").GetString();
}
