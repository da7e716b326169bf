using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// A command on its way from the mediator to an aggregate entity, with its resolved metadata.
/// Crosses nodes, so it is serialized by <see cref="Serialization.ActorEventsSerializer"/>. Its sender is the one who
/// gets the command's one <see cref="CommandResult"/>: the aggregate itself, or its node's event pipeline once the
/// handlers finished (<see cref="AwaitHandlers"/>).
/// </summary>
/// <param name="Command">The command.</param>
/// <param name="CommandId">Command id (de-duplication key, causation id of its events).</param>
/// <param name="CorrelationId">Correlation id for its events.</param>
/// <param name="OriginStream">Origin stream for its events.</param>
public sealed record AggregateRequest(ICommand Command, string CommandId, string CorrelationId, string? OriginStream)
{
    /// <summary>W3C <c>traceparent</c> of the command's span, which the persist span and the events continue.</summary>
    public string? TraceParent { get; init; }

    /// <summary>Which handler pool of the aggregate's node runs the persisted events (null: they are not dispatched).</summary>
    public PipelineKind? Pipeline { get; init; }

    /// <summary>
    /// The answer waits for the handlers: the aggregate hands it, with its events, to its node's event pipeline, which
    /// answers the sender once every handler (and follow-up) finished, or at <see cref="HandlersDeadline"/>.
    /// </summary>
    public bool AwaitHandlers { get; init; }

    /// <summary>When the pipeline answers without waiting any longer for the handlers (the caller's time is up).</summary>
    public DateTimeOffset? HandlersDeadline { get; init; }

    /// <summary>
    /// The target aggregate's id, also on the wire: a node that cannot read the command (a type or version it does not know,
    /// during a rolling upgrade) still routes it to its entity, which answers with a typed rejection.
    /// </summary>
    public string AggregateId => Command.AggregateId;
}

/// <summary>Which handler pool runs the events of a command.</summary>
public enum PipelineKind
{
    /// <summary>The request pool (python-cqrs RequestMediator defaults: 1 handler at a time).</summary>
    Request,

    /// <summary>The streaming pool (python-cqrs StreamingRequestMediator defaults: 10 at a time).</summary>
    Streaming,
}

/// <summary>
/// Stands in for the command of an <see cref="AggregateRequest"/> this node cannot read (its type is not registered here,
/// or its version is newer than this node's): the entity rejects it with <see cref="RejectionCode.UnregisteredType"/>.
/// </summary>
/// <param name="AggregateId">The target aggregate's id, from the request.</param>
/// <param name="TypeName">The command's stable name as sent.</param>
/// <param name="Version">Its schema version as sent (0 when absent).</param>
/// <param name="Reason">Why it cannot be read.</param>
internal sealed record UnreadableCommand(string AggregateId, string TypeName, int Version, string Reason) : ICommand;

/// <summary>
/// Aggregate → its node's event sink (the node's request handler pool), right after a persist: the events in sequence order,
/// since one aggregate's messages to one local actor keep their order. Never crosses nodes.
/// </summary>
/// <param name="Events">The persisted events, in order.</param>
/// <param name="Pipeline">Which pool runs them.</param>
/// <param name="Reply">The command's answer, sent by the pipeline (null: nobody waits).</param>
internal sealed record EventsPersisted(IReadOnlyList<EventEnvelope> Events, PipelineKind Pipeline, AwaitedReply? Reply);

/// <summary>
/// A command's answer, which the event pipeline sends: once the handlers of its events finished
/// (<see cref="AfterHandlers"/>), or as soon as its pool has taken them — so that a pool that is now full has told the
/// mediator before the caller can send its next command.
/// </summary>
/// <param name="ReplyTo">The command's caller.</param>
/// <param name="Accepted">The aggregate's answer, which the handler outcomes complete.</param>
/// <param name="Deadline">When it is sent without waiting any longer (with <c>HandlersCompleted = false</c>).</param>
/// <param name="AfterHandlers">Whether the answer waits for the handlers.</param>
internal sealed record AwaitedReply(IActorRef ReplyTo, CommandAccepted Accepted, DateTimeOffset? Deadline, bool AfterHandlers = true);

/// <summary>
/// Aggregate entity → its node's event sink, when it stops (hand-off or passivation): answer <see cref="AggregateDrained"/>
/// once none of this aggregate's events is queued, running or waiting for a retry, so that its next incarnation (perhaps on
/// another node) cannot handle newer events before these. Never crosses nodes.
/// </summary>
/// <param name="AggregateType">The aggregate type.</param>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="ReplyTo">Who gets <see cref="AggregateDrained"/>.</param>
internal sealed record DrainAggregate(string AggregateType, string AggregateId, IActorRef ReplyTo);

/// <summary>The answer to <see cref="DrainAggregate"/>.</summary>
internal sealed record AggregateDrained
{
    /// <summary>The single instance.</summary>
    public static AggregateDrained Instance { get; } = new();
}

/// <summary>
/// The explicit stop message of an aggregate entity: used for idle passivation and as the sharding hand-off
/// stop message, so that commands already in the entity's mailbox are processed and answered before it stops.
/// </summary>
public sealed record AggregateStop
{
    /// <summary>The single instance.</summary>
    public static AggregateStop Instance { get; } = new();
}

/// <summary>What an aggregate stores as a snapshot: its state and its most recent commands.</summary>
/// <param name="State">The state record.</param>
/// <param name="RecentCommandIds">Most recent command ids, oldest first (what snapshots held before <paramref name="RecentCommands"/>).</param>
/// <param name="RecentCommands">Most recent commands with when they were applied and their events, oldest first, for de-duplication after recovery.</param>
public sealed record AggregateSnapshot(object State, IReadOnlyList<string> RecentCommandIds, IReadOnlyList<RecentCommand>? RecentCommands = null);

/// <summary>A command an aggregate applied, remembered to answer a retry with the same id.</summary>
/// <param name="CommandId">The command id.</param>
/// <param name="AppliedAt">When its events were persisted (or it was accepted without events).</param>
/// <param name="Events">Its events.</param>
public sealed record RecentCommand(string CommandId, DateTimeOffset AppliedAt, IReadOnlyList<EventEnvelope> Events);

/// <summary>
/// The state of a snapshot that cannot be read any more (its state type's version or shape changed, or it holds an event
/// that cannot be read): the aggregate passes over it and rebuilds its state from its events.
/// </summary>
/// <param name="Reason">Why it cannot be read.</param>
internal sealed record UnreadableSnapshot(string Reason);
