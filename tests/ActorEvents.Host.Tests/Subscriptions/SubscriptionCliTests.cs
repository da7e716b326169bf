using ActorEvents.Cli;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Subscriptions;

namespace ActorEvents.Host.Tests.Subscriptions;

/// <summary>
/// The host's <c>subscriptions</c> verbs without <c>--admin-url</c>, run in-process against a SQLite database a node wrote
/// to and that no node runs on: they work on the tables (state <see cref="SubscriptionState.NotRunning"/>), and what they
/// write is taken up by the next node that runs the subscriptions.
/// </summary>
public sealed class SubscriptionCliTests : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private readonly TempSqliteDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Should_show_status_pause_resume_rebuild_and_refuse_unknown_names_from_the_command_line()
    {
        await WriteOrdersAsync("cli-a", 3, waitForSubscriptions: true);

        var (listed, listing) = await RunAsync("subscriptions", "status", "--json");
        Assert.Equal(0, listed);
        var statuses = JsonSerializer.Deserialize<SubscriptionStatus[]>(listing, Json)!;
        Assert.Equal(["order-totals", "stock-levels", "order-shipments", "stock-on-shipment"], statuses.Select(s => s.Name));
        var totals = statuses[0];
        Assert.Equal((SubscriptionState.NotRunning, 0L), (totals.State, totals.LagEvents));
        Assert.True(totals.Head > 0 && totals.Checkpoint >= totals.Head, listing); // caught up: it read the journal up to its head (or past it, over other tags' events)

        var (paused, pauseOutput) = await RunAsync("subscriptions", "pause", "order-totals");
        Assert.Equal(0, paused);
        Assert.Contains("order-totals: pause done", pauseOutput, StringComparison.Ordinal);
        await WriteOrdersAsync("cli-b", 2, waitForSubscriptions: false);
        var (_, pausedListing) = await RunAsync("subscriptions", "status", "--name", "order-totals", "--json");
        var whilePaused = Assert.Single(JsonSerializer.Deserialize<SubscriptionStatus[]>(pausedListing, Json)!);
        Assert.Equal((SubscriptionState.Paused, totals.Checkpoint), (whilePaused.State, whilePaused.Checkpoint));
        Assert.Equal(4, whilePaused.LagEvents); // two orders placed and shipped

        var (resumed, _) = await RunAsync("subscriptions", "resume", "order-totals");
        Assert.Equal(0, resumed);
        var (rebuilt, rebuildOutput) = await RunAsync("subscriptions", "rebuild", "order-totals");
        Assert.Equal(0, rebuilt);
        Assert.Contains("order-totals: rebuild done", rebuildOutput, StringComparison.Ordinal);
        Assert.Contains("not running", rebuildOutput, StringComparison.Ordinal);
        // Cleared and reset in the tables; the next node replays it.
        Assert.Equal((0L, 0L), (_database.Scalar("SELECT position FROM ae_checkpoints WHERE subscription = 'order-totals'"),
            _database.Scalar("SELECT COUNT(*) FROM sample_order_totals")));
        Assert.Equal([new OrderStatusTotal("shipped", 5, 50m)], await QueryTotalsAsync());

        var (unknown, unknownOutput) = await RunAsync("subscriptions", "reset", "no-such-projection", "--to", "3");
        Assert.Equal(AdminExitCodes.Refused, unknown);
        Assert.Contains("There is no subscription or projection named 'no-such-projection'", unknownOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_start_no_subscription_for_status_pause_and_dlq_list_without_an_admin_url()
    {
        // Events written by a node whose subscriptions are off: every checkpoint is still where it was (none stored).
        await using (var writer = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.SqliteSettings(_database,
            new Dictionary<string, string?> { ["Subscriptions:Enabled"] = "false" })))
        {
            await writer.AcceptAsync(new AddStock("sku-quiet", 10));
            await writer.AcceptAsync(new PlaceOrder("quiet-1", "customer-quiet", "sku-quiet", 1, 10m));
        }

        var head = _database.Scalar("SELECT MAX(ordering) FROM journal");
        foreach (var args in new[] { new[] { "subscriptions", "status", "--json" }, ["subscriptions", "pause", "stock-levels"], ["dlq", "list"], ["subscriptions", "status", "--json"] })
        {
            var (exitCode, output) = await RunAsync(args);
            Assert.True(exitCode == 0, output);
        }

        // Had any of them run the subscriptions (as a node of their own would), checkpoints would have moved towards the head.
        Assert.Equal(0L, _database.Scalar("SELECT COALESCE(MAX(position), 0) FROM ae_checkpoints"));
        var (_, listing) = await RunAsync("subscriptions", "status", "--json");
        var statuses = JsonSerializer.Deserialize<SubscriptionStatus[]>(listing, Json)!;
        Assert.All(statuses, s => Assert.Equal(0L, s.Checkpoint));
        Assert.Equal(SubscriptionState.Paused, statuses.Single(s => s.Name == "stock-levels").State);
        Assert.All(statuses.Where(s => s.Name != "stock-levels"), s => Assert.Equal(SubscriptionState.NotRunning, s.State));
        Assert.True(head > 0 && statuses.Single(s => s.Name == "stock-levels").LagEvents > 0, listing);
    }

    [Fact]
    public async Task Should_refuse_to_rebuild_a_handler_subscription()
    {
        var (exitCode, output) = await RunAsync("subscriptions", "rebuild", "order-shipments");

        Assert.Equal(AdminExitCodes.Refused, exitCode);
        Assert.Contains("NotAProjection", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_run_a_handler_subscription_again_from_the_command_line_with_rerun_and_skip_what_it_processed_without()
    {
        await WriteOrdersAsync("cli-r", 2, waitForSubscriptions: true);
        Assert.Equal(2, await ShipmentsAsync());

        // Without --rerun the guarded ledger handler skips the shipments it recorded.
        var (reset, _) = await RunAsync("subscriptions", "reset", "order-shipments", "--to", "0");
        Assert.Equal(0, reset);
        Assert.Equal(2, await ShipmentsAsync());

        // With --rerun its rows are cleared with the move: both shipments are recorded a second time.
        var (rerun, rerunOutput) = await RunAsync("subscriptions", "reset", "order-shipments", "--to", "0", "--rerun");
        Assert.Equal(0, rerun);
        Assert.Contains("order-shipments: reset done", rerunOutput, StringComparison.Ordinal);
        Assert.Equal(4, await ShipmentsAsync());
    }

    /// <summary>Shipments in the durable shipment ledger of <c>sku-cli</c>, once the subscriptions of a node on the database have caught up.</summary>
    private async Task<long> ShipmentsAsync()
    {
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.SqliteSettings(_database));
        await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(20));
        return (await host.Client.QueryAsync(new GetShippedUnits())).ValueOrThrow().Skus.Single(s => s.Sku == "sku-cli").Shipments;
    }

    /// <summary>Places and ships orders of 1 × 10.00 through a node on the database, then stops it.</summary>
    private async Task WriteOrdersAsync(string prefix, int orders, bool waitForSubscriptions)
    {
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.SqliteSettings(_database));
        await host.AcceptAsync(new AddStock("sku-cli", 100));
        for (var i = 0; i < orders; i++)
        {
            await host.AcceptAsync(new PlaceOrder($"{prefix}-{i}", "customer-cli", "sku-cli", 1, 10m));
            await host.AcceptAsync(new ShipOrder($"{prefix}-{i}"));
        }

        if (waitForSubscriptions)
        {
            await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>The order totals once a node on the database has caught its subscriptions up.</summary>
    private async Task<IReadOnlyList<OrderStatusTotal>> QueryTotalsAsync()
    {
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.SqliteSettings(_database));
        await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(20));
        return (await host.Client.QueryAsync(new GetOrderTotals())).ValueOrThrow().ByStatus;
    }

    private Task<(int ExitCode, string Output)> RunAsync(params string[] args) => HostCli.RunAsync(_database.ConnectionString, args);
}
