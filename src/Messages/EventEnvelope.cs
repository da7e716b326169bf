namespace ActorEvents.Messages;

/// <summary>
/// A persisted event together with its metadata. This is what the journal stores, what handlers
/// receive next to the typed event, and what a command reply lists.
/// </summary>
/// <param name="EventId">Unique, time-sortable id (a version 7 UUID in its 32-digit hex form).</param>
/// <param name="EventType">Stable registered name of the event, never a CLR type name.</param>
/// <param name="SchemaVersion">Schema version of the payload, from its registration.</param>
/// <param name="OccurredAt">When the aggregate decided the event (UTC).</param>
/// <param name="SourceNode">Cluster address of the node whose aggregate persisted the event.</param>
/// <param name="AggregateType">Stable name of the aggregate type, e.g. <c>order</c>.</param>
/// <param name="AggregateId">Id of the aggregate instance.</param>
/// <param name="SequenceNr">Sequence number of the event in its aggregate's stream (1-based).</param>
/// <param name="CorrelationId">Id shared by everything one original request caused.</param>
/// <param name="CausationId">Id of the message that directly caused this event (command id or parent event id).</param>
/// <param name="OriginStream">Stream of the message that triggered this event, if the caller named one.</param>
/// <param name="Event">The typed event.</param>
public sealed record EventEnvelope(
    string EventId,
    string EventType,
    int SchemaVersion,
    DateTimeOffset OccurredAt,
    string SourceNode,
    string AggregateType,
    string AggregateId,
    long SequenceNr,
    string CorrelationId,
    string CausationId,
    string? OriginStream,
    IEvent Event)
{
    /// <summary>
    /// W3C <c>traceparent</c> of the span that caused this event (the command's, or the handler's that emitted a
    /// follow-up): handlers, and durable subscriptions reading it back from the journal, continue that trace. Null in
    /// rows written before it existed, and when nothing traced the command.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>The stream this event belongs to: <c>{AggregateType}-{AggregateId}</c>.</summary>
    public string StreamName => StreamNames.For(AggregateType, AggregateId);
}

/// <summary>Builds stream names (also the persistence ids of aggregates).</summary>
public static class StreamNames
{
    /// <summary>The stream (and persistence id) of one aggregate instance.</summary>
    public static string For(string aggregateType, string aggregateId) => $"{aggregateType}-{aggregateId}";
}
