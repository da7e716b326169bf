using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Serialization;

namespace ActorEvents.Tests.Serialization;

/// <summary>Round trips through the actor system's serialization, with the serializer bound as the host binds it.</summary>
public sealed class ActorEventsSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly MessageTypeRegistry Registry = new ActorEventsDomainBuilder().AddFixtureDomain().Build().Types;

    public ActorEventsSerializerTests()
        : base(Setup(Registry), "serializer-tests")
    {
    }

    /// <summary>The serializer bound as the host binds it (also used by the trace-context tests).</summary>
    internal static ActorSystemSetup Setup(MessageTypeRegistry registry) =>
        BootstrapSetup.Create()
            .WithConfig(ConfigurationFactory.ParseString("akka.loglevel = WARNING"))
            .And(SerializationSetup.Create(system => ImmutableHashSet.Create(
                SerializerDetails.Create("actor-events", RuntimeWireFormats.Serializer(system, registry), RuntimeWireFormats.BoundTypes.ToImmutableHashSet()))));

    private static EventEnvelope Envelope(IEvent @event, long sequenceNr = 1) => new(
        Guid.CreateVersion7().ToString("N"), Registry.TryGet(@event.GetType(), out var registered) ? registered.Name : "unregistered", 1,
        new DateTimeOffset(2025, 3, 4, 5, 6, 7, 891, TimeSpan.Zero), "akka.tcp://actor-events@127.0.0.1:4053",
        "order", "o-1", sequenceNr, "corr-1", "cmd-1", "checkout", @event);

    private (Serializer Serializer, string Manifest, byte[] Bytes) Serialize(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        return (serializer, Akka.Serialization.Serialization.ManifestFor(serializer, message), serializer.ToBinary(message));
    }

    private object RoundTrip(object message)
    {
        var (serializer, manifest, bytes) = Serialize(message);
        Assert.IsType<ActorEventsSerializer>(serializer);
        Assert.Equal(ActorEventsSerializer.Id, serializer.Identifier);
        return Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
    }

    private object FromBinary(byte[] bytes, string manifest) =>
        Sys.Serialization.Deserialize(bytes, ActorEventsSerializer.Id, manifest);

    public static TheoryData<object> BareMessages() =>
    [
        new PlaceOrder("o-1", "c-1", "sku-1", 2, 19.99m),
        new ShipOrder("o-1"),
        new CancelOrder("o-1", "reason with \"quotes\" and ünïcode"),
        new AddStock("sku-1", 5),
        new ReduceStock("sku-1", 2, "o-1"),
        new RestoreStock("sku-1", 2, "o-1"),
        new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR")),
        new OrderShipped("o-1", "sku-1", 2),
        new OrderCancelled("o-1", "r"),
        new StockAdded("sku-1", 5, 5),
        new StockReduced("sku-1", 2, "o-1", 3),
        new StockRestored("sku-1", 2, "o-1", 5),
    ];

    [Theory]
    [MemberData(nameof(BareMessages))]
    public void Should_round_trip_bare_commands_and_events_under_their_stable_name(object message)
    {
        var (_, manifest, _) = Serialize(message);

        Assert.Equal(Registry.Get(message.GetType()).Name, manifest);
        Assert.Equal(message, RoundTrip(message));
    }

    [Fact]
    public void Should_round_trip_an_event_envelope_with_all_its_metadata()
    {
        var envelope = Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR")), 7);

        var copy = Assert.IsType<EventEnvelope>(RoundTrip(envelope));

        Assert.Equal(envelope, copy);
        Assert.Equal(envelope.OccurredAt, copy.OccurredAt);
        Assert.IsType<OrderPlaced>(copy.Event);
    }

    [Fact]
    public void Should_round_trip_an_envelope_without_origin_stream()
    {
        var envelope = Envelope(new StockAdded("sku-1", 1, 1)) with { OriginStream = null };

        Assert.Equal(envelope, RoundTrip(envelope));
    }

    [Fact]
    public void Should_round_trip_an_aggregate_request()
    {
        var request = new AggregateRequest(new ReduceStock("sku-1", 3, "o-9"), "cmd-1", "corr-1", "orders");

        Assert.Equal(request, RoundTrip(request));
    }

    [Fact]
    public void Should_round_trip_an_aggregate_request_with_how_its_events_are_dispatched_and_answered()
    {
        var request = new AggregateRequest(new AddStock("sku-1", 1), "cmd-1", "corr-1", null)
        {
            Pipeline = PipelineKind.Streaming, AwaitHandlers = true, HandlersDeadline = new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero), TraceParent = "00-abc-def-01",
        };

        var copy = Assert.IsType<AggregateRequest>(RoundTrip(request));

        Assert.Equal(request, copy);
        Assert.Equal((PipelineKind.Streaming, true), (copy.Pipeline, copy.AwaitHandlers));
    }

    [Fact]
    public void Should_round_trip_a_command_accepted_reply_with_its_events()
    {
        var accepted = new CommandAccepted("order", "o-1",
            [Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR"))), Envelope(new OrderShipped("o-1", "sku-1", 2), 2)])
        {
            CommandId = "cmd-1",
            Duplicate = true,
            HandlerOutcomes = [new HandlerOutcome("projection", "e-1", "order.placed", HandlerStatus.Failed, "boom", 3)],
        };

        var copy = Assert.IsType<CommandAccepted>(RoundTrip(accepted));

        Assert.Equal("cmd-1", copy.CommandId);
        Assert.Equal("order", copy.AggregateType);
        Assert.Equal("o-1", copy.AggregateId);
        Assert.True(copy.Duplicate);
        Assert.Equal(accepted.Events, copy.Events);
        Assert.Equal(accepted.HandlerOutcomes, copy.HandlerOutcomes);
    }

    [Fact]
    public void Should_round_trip_a_command_rejected_reply()
    {
        var rejected = new CommandRejected(RejectionCode.DomainRuleViolation, "only 3 on hand") { CommandId = "cmd-2" };

        Assert.Equal(rejected, RoundTrip(rejected));
    }

    [Fact]
    public void Should_round_trip_a_submit_command()
    {
        var submit = new SubmitCommand(new PlaceOrder("o-1", "c-1", "sku-1", 1, 1m), new CommandMetadata("cmd", "corr", "origin"));

        Assert.Equal(submit, RoundTrip(submit));
    }

    [Fact]
    public void Should_round_trip_an_aggregate_snapshot_with_its_typed_state()
    {
        var snapshot = new AggregateSnapshot(new OrderState(OrderStatus.Shipped, "c-1", "sku-1", 4, new Money(2.25m, "EUR")), ["cmd-1", "cmd-2"]);

        var copy = Assert.IsType<AggregateSnapshot>(RoundTrip(snapshot));

        Assert.Equal(snapshot.State, Assert.IsType<OrderState>(copy.State));
        Assert.Equal(snapshot.RecentCommandIds, copy.RecentCommandIds);
    }

    [Fact]
    public void Should_round_trip_the_stop_message_to_its_single_instance()
    {
        Assert.Same(AggregateStop.Instance, RoundTrip(AggregateStop.Instance));
    }

    [Fact]
    public void Should_put_no_clr_type_name_on_the_wire()
    {
        var (_, manifest, bytes) = Serialize(Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR"))));
        var json = Encoding.UTF8.GetString(bytes);

        Assert.Equal("ae.envelope", manifest);
        Assert.Contains("\"type\":\"order.placed\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("OrderPlaced", json, StringComparison.Ordinal);
        Assert.DoesNotContain("ActorEvents.", json, StringComparison.Ordinal);
        Assert.DoesNotContain("$type", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("System.Diagnostics.Process, System")]
    [InlineData("OrderPlaced, ActorEvents.Host")]
    [InlineData("order.unknown")]
    public void Should_refuse_an_unregistered_manifest(string manifest)
    {
        var bytes = Encoding.UTF8.GetBytes("{}");

        var error = Assert.Throws<SerializationException>(() => FromBinary(bytes, manifest));
        Assert.Contains(manifest, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("System.Diagnostics.Process, System")]
    [InlineData("OrderPlaced, ActorEvents.Host")]
    public void Should_refuse_an_unregistered_type_name_inside_an_envelope(string typeName)
    {
        var (_, manifest, bytes) = Serialize(Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR"))));
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes)
            .Replace("\"type\":\"order.placed\"", $"\"type\":\"{typeName}\"", StringComparison.Ordinal));
        Assert.NotEqual(bytes, tampered);

        var error = Assert.Throws<SerializationException>(() => FromBinary(tampered, manifest));
        Assert.Contains(typeName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unregistered_type_name_inside_an_aggregate_request()
    {
        const string json = """
            {"command":{"type":"System.Diagnostics.Process, System","version":1,"data":{"startInfo":{"fileName":"sh"}}},
             "commandId":"c","correlationId":"c","originStream":null}
            """;

        Assert.Throws<SerializationException>(() => FromBinary(Encoding.UTF8.GetBytes(json), "ae.aggregate-request"));
    }

    [Fact]
    public void Should_refuse_a_registered_command_name_where_an_event_is_expected()
    {
        var (_, manifest, bytes) = Serialize(Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR"))));
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes)
            .Replace("\"type\":\"order.placed\"", "\"type\":\"order.place\"", StringComparison.Ordinal));

        var error = Assert.Throws<SerializationException>(() => FromBinary(tampered, manifest));
        Assert.Contains("not a IEvent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_payload_without_a_type_name()
    {
        const string json = """{"command":{"data":{"orderId":"o-1"}},"commandId":"c","correlationId":"c"}""";

        Assert.Throws<SerializationException>(() => FromBinary(Encoding.UTF8.GetBytes(json), "ae.aggregate-request"));
    }

    [Fact]
    public void Should_refuse_to_serialize_an_unregistered_event()
    {
        var serializer = RuntimeWireFormats.Serializer((ExtendedActorSystem)Sys, Registry);

        Assert.Throws<SerializationException>(() => serializer.ToBinary(new UnnamedEvent("x")));
        Assert.Throws<SerializationException>(() => serializer.ToBinary(Envelope(new UnnamedEvent("x"))));
    }

    [Fact]
    public void Should_deserialize_by_stable_name_into_whatever_clr_type_is_registered_under_it()
    {
        var envelope = Envelope(new OrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR")));
        var (_, manifest, bytes) = Serialize(envelope);

        // A later version of the code: the CLR type was renamed and moved; only the stable name stayed.
        var renamedRegistry = new MessageTypeRegistry();
        renamedRegistry.Register(typeof(RenamedOrderPlaced), "order.placed", 2);
        var renamedSerializer = RuntimeWireFormats.Serializer((ExtendedActorSystem)Sys, renamedRegistry);

        var copy = Assert.IsType<EventEnvelope>(renamedSerializer.FromBinary(bytes, manifest));
        Assert.Equal(new RenamedOrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR")), copy.Event);
        Assert.Equal(envelope with { Event = copy.Event }, copy);

        var bare = renamedSerializer.FromBinary(Serialize(envelope.Event).Bytes, "order.placed");
        Assert.Equal(new RenamedOrderPlaced("o-1", "c-1", "sku-1", 2, new Money(19.99m, "EUR")), bare);
    }
}

/// <summary>An event type that is not registered anywhere.</summary>
public sealed record UnnamedEvent(string Value) : IEvent;

/// <summary>The "renamed" CLR type of <see cref="OrderPlaced"/> in a later version of the code.</summary>
public sealed record RenamedOrderPlaced(string OrderId, string CustomerId, string Sku, int Quantity, Money UnitPrice) : IEvent;
