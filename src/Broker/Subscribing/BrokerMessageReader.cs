using System.Text;
using ActorEvents.Broker.Publishing;
using ActorEvents.Messages;
using RabbitMQ.Client.Events;

namespace ActorEvents.Broker.Subscribing;

/// <summary>Reads an AMQP delivery into a <see cref="BrokerMessage"/> (copying its body: the client reuses the buffer).</summary>
internal static class BrokerMessageReader
{
    /// <summary>The message of a delivery. One without a message id gets <c>none-&lt;delivery&gt;-&lt;guid&gt;</c>: it cannot be de-duplicated.</summary>
    public static BrokerMessage Read(BasicDeliverEventArgs delivery, string queue)
    {
        var properties = delivery.BasicProperties;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in properties.Headers ?? new Dictionary<string, object?>())
        {
            if (Text(value) is { } text)
            {
                headers[key] = text;
            }
        }

        var version = headers.TryGetValue(NotificationMessage.VersionHeader, out var v) && int.TryParse(v, out var parsed) ? parsed : 1;
        headers.TryGetValue(NotificationMessage.CausationHeader, out var causation);
        return new BrokerMessage(
            string.IsNullOrEmpty(properties.MessageId) ? $"none-{delivery.DeliveryTag}-{Guid.NewGuid():N}" : properties.MessageId,
            properties.Type,
            version,
            properties.AppId,
            properties.CorrelationId,
            causation,
            properties.IsTimestampPresent() ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime) : DateTimeOffset.UtcNow,
            queue,
            delivery.Exchange,
            delivery.RoutingKey,
            properties.ContentType,
            headers,
            delivery.Body.ToArray());
    }

    private static string? Text(object? value) => value switch
    {
        null => null,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string s => s,
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
