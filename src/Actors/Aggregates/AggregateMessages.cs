using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// A command on its way from the mediator to an aggregate entity, with its resolved metadata.
/// Crosses nodes, so it is serialized by <see cref="Serialization.ActorEventsSerializer"/>.
/// </summary>
/// <param name="Command">The command.</param>
/// <param name="CommandId">Command id (de-duplication key, causation id of its events).</param>
/// <param name="CorrelationId">Correlation id for its events.</param>
/// <param name="OriginStream">Origin stream for its events.</param>
/// <param name="Dispatch">Where the aggregate sends the persisted events (null: nowhere).</param>
public sealed record AggregateRequest(ICommand Command, string CommandId, string CorrelationId, string? OriginStream, EventDispatch? Dispatch = null)
{
    /// <summary>W3C <c>traceparent</c> of the command's span, which the persist span and the events continue.</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// The target aggregate's id, also on the wire: a node that cannot read the command (a type or version it does not know,
    /// during a rolling upgrade) still routes it to its entity, which answers with a typed rejection.
    /// </summary>
    public string AggregateId => Command.AggregateId;
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
/// Where an aggregate sends the events it persisted for a request. The aggregate sends them itself, right
/// after persisting, so the router receives each aggregate's events in sequence order (replies to the
/// caller travel separately and may overtake each other).
/// </summary>
/// <param name="Router">The event-stream router of the node whose mediator took the command.</param>
/// <param name="RequestId">The mediator's request id (0: nobody waits for the handlers).</param>
/// <param name="CompletionTo">Who is told when every handler finished (null: nobody).</param>
/// <param name="Pipeline">Which handler pool runs them.</param>
public sealed record EventDispatch(IActorRef Router, long RequestId, IActorRef? CompletionTo, PipelineKind Pipeline);

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
