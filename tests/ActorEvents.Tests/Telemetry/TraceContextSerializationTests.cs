using System.Text;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using ActorEvents.Tests.Serialization;

namespace ActorEvents.Tests.Telemetry;

/// <summary>The trace context on the envelope: kept through the serializer, and absent (null) in rows written before it existed.</summary>
public sealed class TraceContextSerializationTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly MessageTypeRegistry Registry = new ActorEventsDomainBuilder().AddFixtureDomain().Build().Types;

    public TraceContextSerializationTests()
        : base(ActorEventsSerializerTests.Setup(Registry), "trace-context-tests")
    {
    }

    [Fact]
    public void Should_keep_the_trace_parent_of_an_envelope_through_the_serializer()
    {
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var envelope = new EventEnvelope("e-1", "order.shipped", 1, DateTimeOffset.UnixEpoch, "node", "order", "o-1", 1, "corr", "cmd", null,
            new OrderShipped("o-1", "sku-1", 2)) { TraceParent = traceParent };
        var serializer = Sys.Serialization.FindSerializerFor(envelope);

        var read = (EventEnvelope)Sys.Serialization.Deserialize(serializer.ToBinary(envelope), serializer.Identifier, "ae.envelope");

        Assert.Equal(traceParent, read.TraceParent);
        Assert.Equal(envelope, read);
    }

    [Fact]
    public void Should_read_an_envelope_stored_before_trace_context_existed_with_no_trace_parent()
    {
        // The exact form the journal held before: no traceParent property.
        const string stored = """
            {"eventId":"e-1","eventType":"order.shipped","schemaVersion":1,"occurredAt":"2025-03-04T05:06:07.891+00:00",
             "sourceNode":"akka.tcp://actor-events@127.0.0.1:4053","aggregateType":"order","aggregateId":"o-1","sequenceNr":1,
             "correlationId":"corr-1","causationId":"cmd-1","originStream":null,
             "event":{"type":"order.shipped","version":1,"data":{"orderId":"o-1","sku":"sku-1","quantity":2}}}
            """;

        var read = (EventEnvelope)Sys.Serialization.Deserialize(Encoding.UTF8.GetBytes(stored), ActorEventsSerializer.Id, "ae.envelope");

        Assert.Null(read.TraceParent);
        Assert.Equal(new OrderShipped("o-1", "sku-1", 2), read.Event);
        Assert.Equal("corr-1", read.CorrelationId);
    }
}
