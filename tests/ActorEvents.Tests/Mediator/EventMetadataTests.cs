using System.Globalization;
using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;

namespace ActorEvents.Tests.Mediator;

/// <summary>Accepted commands through the mediator on the in-memory journal: envelopes, metadata, de-duplication.</summary>
public sealed class EventMetadataTests(InMemoryHostFixture fixture) : IClassFixture<InMemoryHostFixture>
{
    private ActorEventsTestHost Host => fixture.Host;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Should_stamp_every_persisted_event_with_full_metadata()
    {
        var sku = NewId("meta");
        var before = DateTimeOffset.UtcNow;

        var added = await Host.AcceptAsync(new AddStock(sku, 5), new CommandMetadata("cmd-add-" + sku, "corr-" + sku, "orders-stream"));
        var reduced = await Host.AcceptAsync(new ReduceStock(sku, 2, "o-1"), new CommandMetadata(CorrelationId: "corr-" + sku));
        var restored = await Host.AcceptAsync(new RestoreStock(sku, 1, "o-1"));
        var after = DateTimeOffset.UtcNow;

        Assert.Equal("cmd-add-" + sku, added.CommandId);
        Assert.Matches("^[0-9a-f]{32}$", reduced.CommandId);
        Assert.Matches("^[0-9a-f]{32}$", restored.CommandId);
        Assert.NotEqual(reduced.CommandId, restored.CommandId);

        var events = new[] { added, reduced, restored }.Select(a => Assert.Single(a.Events)).ToArray();
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.SequenceNr));
        Assert.Equal(["inventory.stock-added", "inventory.stock-reduced", "inventory.stock-restored"], events.Select(e => e.EventType));
        Assert.Equal([new StockAdded(sku, 5, 5), new StockReduced(sku, 2, "o-1", 3), new StockRestored(sku, 1, "o-1", 4)], events.Select(e => e.Event));
        Assert.All(events, e =>
        {
            Assert.Equal(1, e.SchemaVersion);
            Assert.InRange(e.OccurredAt, before, after);
            Assert.Equal(TimeSpan.Zero, e.OccurredAt.Offset);
            Assert.Equal(Host.SelfAddress, e.SourceNode);
            Assert.StartsWith("akka.tcp://actor-events@127.0.0.1:", e.SourceNode, StringComparison.Ordinal);
            Assert.Equal("inventory", e.AggregateType);
            Assert.Equal(sku, e.AggregateId);
            Assert.Equal("inventory-" + sku, e.StreamName);
        });

        // Causation is always the command id; correlation and origin come from the caller's metadata when given.
        Assert.Equal(added.CommandId, events[0].CausationId);
        Assert.Equal("corr-" + sku, events[0].CorrelationId);
        Assert.Equal("orders-stream", events[0].OriginStream);
        Assert.Equal(reduced.CommandId, events[1].CausationId);
        Assert.Equal("corr-" + sku, events[1].CorrelationId);
        Assert.Null(events[1].OriginStream);
        Assert.Equal(restored.CommandId, events[2].CausationId);
        Assert.Equal(restored.CommandId, events[2].CorrelationId);

        Assert.All(new[] { added, reduced, restored }, a =>
        {
            Assert.Equal("inventory", a.AggregateType);
            Assert.Equal(sku, a.AggregateId);
            Assert.False(a.Duplicate);
        });

        // What the caller got back is exactly what the journal holds.
        Assert.Equal(events, await Host.ReadStreamAsync("inventory", sku));
    }

    [Fact]
    public async Task Should_give_events_unique_time_sortable_version_7_ids()
    {
        var orderIds = Enumerable.Range(0, 10).Select(_ => NewId("ids")).ToArray();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var envelopes = new List<EventEnvelope>();
        foreach (var orderId in orderIds)
        {
            envelopes.AddRange((await Host.AcceptAsync(new PlaceOrder(orderId, "c", "sku", 1, 1m))).Events);
            envelopes.AddRange((await Host.AcceptAsync(new CancelOrder(orderId, "test"))).Events);
        }

        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(20, envelopes.Select(e => e.EventId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(envelopes, e =>
        {
            Assert.Matches("^[0-9a-f]{12}7[0-9a-f]{19}$", e.EventId);
            Assert.InRange(TimestampOf(e.EventId), before, after);
        });

        // The leading 48 bits are the creation time in ms: ids sort by time (never decrease in decision order).
        var timestamps = envelopes.Select(e => TimestampOf(e.EventId)).ToArray();
        Assert.Equal(timestamps.Order(), timestamps);
        Assert.Equal(envelopes.OrderBy(e => e.EventId[..12], StringComparer.Ordinal).Select(e => TimestampOf(e.EventId)), timestamps);

        static long TimestampOf(string eventId) => long.Parse(eventId[..12], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Should_deduplicate_a_command_sent_again_with_the_same_command_id()
    {
        var orderId = NewId("dup");
        var metadata = new CommandMetadata("cmd-" + orderId, "corr-" + orderId);

        var first = await Host.AcceptAsync(new PlaceOrder(orderId, "c-1", "sku-1", 2, 5m), metadata);
        var retry = await Host.AcceptAsync(new PlaceOrder(orderId, "c-1", "sku-1", 2, 5m), metadata);

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.CommandId, retry.CommandId);
        Assert.Equal(first.Events, retry.Events);
        Assert.Single(await Host.ReadStreamAsync("order", orderId));

        // A new command id is a new command: it is decided (and here refused by the existence check).
        var other = await Host.SendAsync(new PlaceOrder(orderId, "c-1", "sku-1", 2, 5m), metadata with { CommandId = "cmd-other-" + orderId });
        Assert.Equal(RejectionCode.AggregateAlreadyExists, Assert.IsType<CommandRejected>(other).Code);
        Assert.Single(await Host.ReadStreamAsync("order", orderId));
    }

    [Fact]
    public async Task Should_not_remember_a_rejected_command_id_as_applied()
    {
        var sku = NewId("retry");
        await Host.AcceptAsync(new AddStock(sku, 1));
        var reduce = new ReduceStock(sku, 5, "o-1");
        var metadata = new CommandMetadata("cmd-reduce-" + sku);

        var refused = await Host.SendAsync(reduce, metadata);
        await Host.AcceptAsync(new AddStock(sku, 10));
        var retried = await Host.AcceptAsync(reduce, metadata);

        Assert.Equal(RejectionCode.DomainRuleViolation, Assert.IsType<CommandRejected>(refused).Code);
        Assert.False(retried.Duplicate);
        Assert.Equal(new StockReduced(sku, 5, "o-1", 6), Assert.Single(retried.Events).Event);
        Assert.Equal(3, (await Host.ReadStreamAsync("inventory", sku)).Count);
    }

    [Fact]
    public async Task Should_accept_a_bare_command_told_to_the_mediator_from_the_registry()
    {
        var sku = NewId("bare");
        var mediator = await Host.Registry.GetAsync<CommandMediator>();

        var result = await mediator.Ask<CommandResult>(new AddStock(sku, 3), TimeSpan.FromSeconds(10));

        var accepted = Assert.IsType<CommandAccepted>(result);
        Assert.Matches("^[0-9a-f]{32}$", accepted.CommandId);
        var envelope = Assert.Single(accepted.Events);
        Assert.Equal(accepted.CommandId, envelope.CausationId);
        Assert.Equal(accepted.CommandId, envelope.CorrelationId);
        Assert.Null(envelope.OriginStream);
    }
}
