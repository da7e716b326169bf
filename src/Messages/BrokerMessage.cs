namespace ActorEvents.Messages;

/// <summary>
/// A message taken from a broker queue, as a subscriber receives it (raw), and as the dead-letter store keeps a message
/// a subscriber gave up on (so that <c>dlq inspect</c> shows it and <c>dlq replay</c> runs the subscriber again).
/// </summary>
/// <param name="MessageId">The AMQP message id (the publishing event's id for ActorEvents publishers): the de-duplication key.</param>
/// <param name="Type">The AMQP type property: the published contract's stable name (e.g. <c>order.shipped</c>), or null.</param>
/// <param name="Version">The contract version (header <c>ae-version</c>), or 1 when absent.</param>
/// <param name="Source">The AMQP app id: who published it (null when absent).</param>
/// <param name="CorrelationId">The AMQP correlation id (null when absent).</param>
/// <param name="CausationId">Header <c>ae-causation-id</c>: the id of the message or command that caused it (null when absent).</param>
/// <param name="Timestamp">The AMQP timestamp (when it was published), or when it was received when absent.</param>
/// <param name="Queue">The queue it was consumed from.</param>
/// <param name="Exchange">The exchange it was published to (empty for the default exchange).</param>
/// <param name="RoutingKey">Its routing key.</param>
/// <param name="ContentType">The AMQP content type (null when absent).</param>
/// <param name="Headers">Its other AMQP headers, as text.</param>
/// <param name="Body">The payload, byte for byte.</param>
[MessageName("actorevents.broker-message")]
public sealed record BrokerMessage(
    string MessageId,
    string? Type,
    int Version,
    string? Source,
    string? CorrelationId,
    string? CausationId,
    DateTimeOffset Timestamp,
    string Queue,
    string Exchange,
    string RoutingKey,
    string? ContentType,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body) : IEvent
{
    /// <summary>The payload as UTF-8 text.</summary>
    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}
