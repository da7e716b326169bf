using System.Text.Json;
using ActorEvents.Messages;
using RabbitMQ.Client;

namespace ActorEvents.Broker.Publishing;

/// <summary>The AMQP form of a published notification: properties and headers from the envelope, the contract as JSON.</summary>
internal static class NotificationMessage
{
    /// <summary>Header: the contract's version.</summary>
    public const string VersionHeader = "ae-version";

    /// <summary>Header: the id of what caused the event (the command's id).</summary>
    public const string CausationHeader = "ae-causation-id";

    /// <summary>Header: W3C trace context of the command that caused it.</summary>
    public const string TraceParentHeader = "traceparent";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The properties of the message of <paramref name="envelope"/>'s event published as <paramref name="publication"/>.</summary>
    public static BasicProperties PropertiesOf(EventEnvelope envelope, NotificationPublication publication, string source)
    {
        var headers = new Dictionary<string, object?>
        {
            [VersionHeader] = publication.Version,
            [CausationHeader] = envelope.CausationId,
        };
        if (envelope.TraceParent is { } traceParent)
        {
            headers[TraceParentHeader] = traceParent;
        }

        return new BasicProperties
        {
            MessageId = envelope.EventId,
            Type = publication.Contract,
            Timestamp = new AmqpTimestamp(envelope.OccurredAt.ToUnixTimeSeconds()),
            AppId = source,
            CorrelationId = envelope.CorrelationId,
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            DeliveryMode = DeliveryModes.Persistent,
            Headers = headers,
        };
    }

    /// <summary>The contract's JSON (web defaults: camelCase).</summary>
    public static byte[] BodyOf(object contract) => JsonSerializer.SerializeToUtf8Bytes(contract, contract.GetType(), Json);
}
