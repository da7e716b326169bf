using ActorEvents.Messages;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// A command on its way from the mediator to an aggregate entity, with its resolved metadata.
/// Crosses nodes, so it is serialized by <see cref="Serialization.ActorEventsSerializer"/>.
/// </summary>
/// <param name="Command">The command.</param>
/// <param name="CommandId">Command id (de-duplication key, causation id of its events).</param>
/// <param name="CorrelationId">Correlation id for its events.</param>
/// <param name="OriginStream">Origin stream for its events.</param>
public sealed record AggregateRequest(ICommand Command, string CommandId, string CorrelationId, string? OriginStream);

/// <summary>
/// The explicit stop message of an aggregate entity: used for idle passivation and as the sharding hand-off
/// stop message, so that commands already in the entity's mailbox are processed and answered before it stops.
/// </summary>
public sealed record AggregateStop
{
    /// <summary>The single instance.</summary>
    public static AggregateStop Instance { get; } = new();
}

/// <summary>What an aggregate stores as a snapshot: its state and the ids of its most recent commands.</summary>
/// <param name="State">The state record.</param>
/// <param name="RecentCommandIds">Most recent command ids, oldest first, for de-duplication after recovery.</param>
public sealed record AggregateSnapshot(object State, IReadOnlyList<string> RecentCommandIds);
