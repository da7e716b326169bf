using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;

namespace ActorEvents.Tests.Serialization;

public sealed class PayloadOrderTests
{
    private static readonly JsonSerializerOptions Options = ActorEventsSerializer.CreateOptions(new ActorEventsDomainBuilder().AddFixtureDomain().Build().Types);

    [Fact]
    public void Should_read_a_payload_whatever_the_order_of_its_properties()
    {
        const string written = """{"type":"inventory.stock-added","version":1,"data":{"sku":"s","quantity":2,"onHand":5}}""";
        const string reordered = """{"data":{"sku":"s","quantity":2,"onHand":5},"version":1,"type":"inventory.stock-added"}""";

        Assert.Equal(new StockAdded("s", 2, 5), JsonSerializer.Deserialize<IEvent>(written, Options));
        Assert.Equal(new StockAdded("s", 2, 5), JsonSerializer.Deserialize<IEvent>(reordered, Options));
    }

    [Fact]
    public void Should_read_an_event_inside_an_envelope_and_keep_reading_after_it()
    {
        var envelope = new EventEnvelope("e", "inventory.stock-added", 1, DateTimeOffset.UnixEpoch, "n", "inventory", "s", 1, "c", "c", "o", new StockAdded("s", 2, 5));
        var list = new[] { envelope, envelope with { EventId = "f", SequenceNr = 2 } };

        var read = JsonSerializer.Deserialize<EventEnvelope[]>(JsonSerializer.Serialize(list, Options), Options)!;

        Assert.Equal(list, read);
    }

    [Theory]
    [InlineData("""{"type":"inventory.stock-added","version":1}""")]
    [InlineData("""{"version":1,"data":{}}""")]
    [InlineData("""{"type":"inventory.add-stock","data":{"sku":"s","quantity":1}}""")]
    public void Should_refuse_a_payload_without_data_without_type_or_of_the_wrong_kind(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<IEvent>(json, Options));
}
