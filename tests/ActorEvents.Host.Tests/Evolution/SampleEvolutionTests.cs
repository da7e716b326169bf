using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Host.Tests.Evolution;

/// <summary>
/// The sample's one evolution, <c>order.placed</c> v1 (a bare euro price) → v2 (a price with its currency), and
/// <c>order.state</c> v1 → v2, over the journal the previous shape wrote (<see cref="SampleV1Journal"/>), on SQLite and PostgreSQL:
/// aggregates recover from the v1 rows and snapshots, projections read them as v2 (a rebuild over v1 and v2 rows makes what
/// v2 rows alone make), and dead letters stored as v1 are read as v2.
/// </summary>
public sealed class SampleEvolutionTests
{
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(30);

    /// <summary>Commands after the upgrade, on the orders of the fixture and a new one.</summary>
    private static readonly ICommand[] Later =
    [
        new PlaceOrder("o-6", "c-4", "sku-a", 2, 7.25m, "USD"),
        new ShipOrder("o-3"),
        new CancelOrder("o-4", "out of stock"),
    ];

    /// <summary>A database holding the fixture, its tables made by a host of today's shape first (which wrote nothing).</summary>
    private static async Task<TestDatabase> WithV1JournalAsync(string provider)
    {
        var database = TestDatabases.CreateIsolated(provider);
        await using (await ActorEventsTestHost.StartAsync(database.Settings()))
        {
        }

        SampleV1Journal.Load(database);
        return database;
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_recover_aggregates_from_v1_rows_and_rebuild_from_events_past_a_v1_snapshot(string provider)
    {
        using var database = await WithV1JournalAsync(provider);
        // Commands are remembered by count alone: the fixture's were applied long ago.
        await using var host = await ActorEventsTestHost.StartAsync(database.Settings(new Dictionary<string, string?> { ["Aggregates:DeduplicationRetention"] = "00:00:00" }));

        // o-3: one v1 row, read as v2 (euros); its state has the v1 price.
        var stream = await host.ReadStreamAsync("order", "o-3");
        Assert.Equal(new OrderPlaced("o-3", "c-1", "sku-a", 1, new Money(99.99m, "EUR")), Assert.Single(stream).Event);
        var processed = await host.AcceptAsync(new ProcessOrder("o-3"));
        Assert.Equal(new OrderProcessed("o-3", 99.99m), processed.Events[0].Event);

        // o-4: a snapshot of order.state v1 at 5 (its last event): passed over, the state rebuilt from its v1 and v2 rows.
        var shipped = await host.AcceptAsync(new ShipOrder("o-4"));
        Assert.Equal(new OrderShipped("o-4", "sku-a", 5, "c-3"), Assert.Single(shipped.Events).Event);

        // o-1: shipped (snapshot at 5 passed over, then its 6th event).
        var refused = await host.SendAsync(new ProcessOrder("o-1"));
        Assert.Equal("a shipped order cannot be processed", Assert.IsType<CommandRejected>(refused).Message);

        // The recovered commands are remembered: the first PlaceOrder of o-5, sent again, is a duplicate, answered in v2.
        var v1Place = SampleV1Journal.Messages.First(m => (string)m["aggregateId"]! == "o-5");
        var duplicate = await host.AcceptAsync(new PlaceOrder("o-5", "c-2", "sku-a", 4, 1.25m), new CommandMetadata((string)v1Place["causationId"]!));
        Assert.True(duplicate.Duplicate);
        var placed = Assert.Single(duplicate.Events);
        Assert.Equal((2, new OrderPlaced("o-5", "c-2", "sku-a", 4, new Money(1.25m, "EUR"))), (placed.SchemaVersion, placed.Event));

        // Writers write the newest version.
        var placedNow = Assert.Single((await host.AcceptAsync(new PlaceOrder("o-7", "c-1", "sku-a", 1, 3m, "CHF"))).Events);
        Assert.Equal(("order.placed", 2), (placedNow.EventType, placedNow.SchemaVersion));
        Assert.Equal(1, database.Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'order-o-7'"));
        Assert.Equal(6, (await host.ReadStreamAsync("order", "o-4")).Count);
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_rebuild_a_projection_over_v1_and_v2_rows_into_what_v2_rows_alone_make(string provider)
    {
        // Upgraded: the v1 journal, then commands of today's shape; the projections catch up, then order-totals is rebuilt.
        OrderTotals upgraded, rebuilt;
        long[] upgradedOrders, rebuiltOrders;
        using (var database = await WithV1JournalAsync(provider))
        {
            await using var host = await ActorEventsTestHost.StartAsync(database.Settings());
            await SendAsync(host, Later);
            (upgraded, upgradedOrders) = await ReadModelAsync(host, database);
            await host.Host.Services.GetRequiredService<ISubscriptionsClient>().RebuildAsync("order-totals");
            (rebuilt, rebuiltOrders) = await ReadModelAsync(host, database);
        }

        // Only v2: the same commands, all written in today's shape.
        OrderTotals fresh;
        long[] freshOrders;
        using (var database = TestDatabases.CreateIsolated(provider))
        {
            await using var host = await ActorEventsTestHost.StartAsync(database.Settings());
            await SendAsync(host, [.. SampleV1Journal.Commands, .. Later]);
            var text = provider == PersistenceProviders.PostgreSql ? "convert_from(message, 'UTF8')" : "CAST(message AS TEXT)";
            Assert.Equal(0, database.Scalar($"SELECT COUNT(*) FROM journal WHERE {text} LIKE '%\"type\":\"order.placed\",\"version\":1,%'"));
            Assert.Equal(6, database.Scalar($"SELECT COUNT(*) FROM journal WHERE {text} LIKE '%\"type\":\"order.placed\",\"version\":2,%'"));
            (fresh, freshOrders) = await ReadModelAsync(host, database);
        }

        Assert.Equal(
            [new OrderStatusTotal("placed", 1, 14.5m), new OrderStatusTotal("shipped", 3, 124.99m), new OrderStatusTotal("cancelled", 2, 23.5m)],
            fresh.ByStatus);
        Assert.Equal(fresh.ByStatus, upgraded.ByStatus);
        Assert.Equal(fresh.ByStatus, rebuilt.ByStatus);
        Assert.Equal(freshOrders, upgradedOrders);
        Assert.Equal(freshOrders, rebuiltOrders);
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_read_a_dead_letter_stored_as_v1_in_todays_shape(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        await using var host = await ActorEventsTestHost.StartAsync(database.Settings());
        var store = host.Host.Services.GetRequiredService<IDeadLetterStore>();
        var id = await AddV1DeadLetterAsync(store, database, "o-2", "o-3");

        var entry = (await store.GetAsync(id))!;
        Assert.Equal(("order.placed", 2, "order-o-2"), (entry.Envelope.EventType, entry.Envelope.SchemaVersion, entry.Envelope.StreamName));
        Assert.Equal(new OrderPlaced("o-2", "c-2", "sku-a", 3, new Money(4.50m, "EUR")), entry.Envelope.Event);
        Assert.Equal(new OrderPlaced("o-3", "c-1", "sku-a", 1, new Money(99.99m, "EUR")), Assert.Single(entry.ParkedFollowers).Event);

        var found = await host.AskOfficeAsync<DeadLetterFound>(new InspectDeadLetter(id));
        Assert.Equal(entry.Envelope, found.Entry.Envelope);
        Assert.Equal(entry.Envelope, Assert.Single(await host.ListAsync()).Envelope);
    }

    [Fact]
    public async Task Should_show_a_dead_letter_stored_as_v1_in_todays_shape_in_dlq_inspect()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        long id;
        await using (var host = await ActorEventsTestHost.StartAsync(database.Settings()))
        {
            id = await AddV1DeadLetterAsync(host.Host.Services.GetRequiredService<IDeadLetterStore>(), database, "o-3", null);
        }

        var (exitCode, output) = await HostCli.RunAsync(database.ConnectionString, "dlq", "inspect", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, exitCode);
        Assert.Contains("order.placed v2", output, StringComparison.Ordinal);
        Assert.Contains("\"currency\": \"EUR\"", output, StringComparison.Ordinal);
        Assert.Contains("\"amount\": 99.99", output, StringComparison.Ordinal);
    }

    /// <summary>A dead letter whose envelope (and follower) are the fixture's v1 rows of those orders, as a store of the previous shape held them.</summary>
    private static async Task<long> AddV1DeadLetterAsync(IDeadLetterStore store, TestDatabase database, string orderId, string? followerOrderId)
    {
        string V1(string order) => SampleV1Journal.Messages.First(m => (string)m["aggregateId"]! == order && (string)m["eventType"]! == "order.placed").ToJsonString();
        var placeholder = new EventEnvelope("x", "order.cancelled", 1, DateTimeOffset.UtcNow, "node", "order", orderId, 1, "c", "c", null, new OrderCancelled(orderId, "-"));
        var id = await store.AddAsync(new NewDeadLetter("OrderEmailHandler", placeholder, new HandlerFailure("Smtp", "down", null, true), 1, DateTimeOffset.UtcNow));
        database.Execute("UPDATE ae_dead_letters SET envelope = @envelope WHERE id = @id", new Dictionary<string, object?> { ["envelope"] = V1(orderId), ["id"] = id });
        if (followerOrderId is not null)
        {
            database.Execute("INSERT INTO ae_parked_followers (dead_letter_id, event_id, envelope) VALUES (@id, @eventId, @envelope)", new Dictionary<string, object?>
            {
                ["id"] = id,
                ["eventId"] = (string)System.Text.Json.Nodes.JsonNode.Parse(V1(followerOrderId))!["eventId"]!,
                ["envelope"] = V1(followerOrderId),
            });
        }

        return id;
    }

    private static async Task SendAsync(ActorEventsTestHost host, IEnumerable<ICommand> commands)
    {
        foreach (var command in commands)
        {
            await host.AcceptAsync(command);
        }
    }

    private static async Task<(OrderTotals Totals, long[] OrderCents)> ReadModelAsync(ActorEventsTestHost host, TestDatabase database)
    {
        await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(CatchUp);
        var totals = (await host.Client.QueryAsync(new GetOrderTotals())).ValueOrThrow();
        var cents = Enumerable.Range(1, 6).Select(i => database.Scalar($"SELECT total_cents FROM sample_orders WHERE order_id = 'o-{i}'")).ToArray();
        return (totals, cents);
    }
}
