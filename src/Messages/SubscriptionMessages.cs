namespace ActorEvents.Messages;

/// <summary>What a subscription feeds.</summary>
public enum SubscriptionKind
{
    /// <summary>Durable event handlers, through a handler pool (at-least-once; exactly-once effects with the processed-event record).</summary>
    Handlers = 1,

    /// <summary>A projector that keeps a read model; its tables and the checkpoint commit in one transaction (exactly-once).</summary>
    Projection = 2,

    /// <summary>
    /// A publisher: sends the notification events mapped from its events to a message broker, moving its checkpoint only
    /// after the broker confirmed every message of a batch (at-least-once; the message id is the event id).
    /// </summary>
    Publisher = 3,
}

/// <summary>Where a subscription stands.</summary>
public enum SubscriptionState
{
    /// <summary>Loading its checkpoint, or waiting for its cluster singleton to start.</summary>
    Starting = 1,

    /// <summary>Reading the journal and feeding its handlers or projector.</summary>
    Running = 2,

    /// <summary>Paused by an operator; the checkpoint stays where it is until it is resumed.</summary>
    Paused = 3,

    /// <summary>Something holds it up: events parked behind a dead letter, a projector or the read journal failing.</summary>
    Stalled = 4,

    /// <summary>A projection replaying from the start after a rebuild, not yet back at the head it started from.</summary>
    Rebuilding = 5,

    /// <summary>Its cluster singleton did not answer in time; the figures come from the database.</summary>
    Unreachable = 6,

    /// <summary>Subscriptions do not run on this cluster (switched off, or the in-memory provider has no read journal).</summary>
    Disabled = 7,

    /// <summary>
    /// Read from the tables by an operator's command that started no node (the admin CLI's table mode): the checkpoint
    /// and counts are the database's; whether a cluster runs it elsewhere is not known.
    /// </summary>
    NotRunning = 8,
}

/// <summary>The status of one subscription.</summary>
/// <param name="Name">Subscription name.</param>
/// <param name="Kind">Handlers or projection.</param>
/// <param name="Source">What it reads: a tag (<c>aggregate:order</c>, <c>event:order.shipped</c>) or <c>all events</c>.</param>
/// <param name="Profile">Name of its profile (production, fast, batch, debug, projection).</param>
/// <param name="State">Where it stands.</param>
/// <param name="Checkpoint">The stored checkpoint: journal position (ordering) a restart would continue after.</param>
/// <param name="Position">Journal position of the last event processed (ahead of the checkpoint by less than the checkpoint interval).</param>
/// <param name="Head">Position of the newest event in its source.</param>
/// <param name="LagEvents">Events in its source after <paramref name="Position"/>.</param>
/// <param name="LagSeconds">Age of the oldest of those events, in seconds (0 when caught up).</param>
/// <param name="LastError">The most recent error, if any.</param>
/// <param name="LastErrorAt">When it happened.</param>
/// <param name="Node">Cluster address of the node running it (null when unreachable).</param>
/// <param name="EventsProcessed">Events processed since it started on that node.</param>
/// <param name="Redeliveries">Events its guarded handlers received again and skipped (from the processed-event record).</param>
/// <param name="DeadLetters">Dead letters of its handlers.</param>
/// <param name="Parked">Events of its handlers parked behind those dead letters.</param>
/// <param name="BatchSize">Most events handled per batch.</param>
/// <param name="CheckpointEvery">Events between checkpoint writes (projections commit every batch).</param>
/// <param name="PollInterval">Pause after a batch that did not fill up, before asking for the next.</param>
/// <param name="Handlers">Names of the handlers it feeds (the projector's type for a projection).</param>
public sealed record SubscriptionStatus(
    string Name,
    SubscriptionKind Kind,
    string Source,
    string Profile,
    SubscriptionState State,
    long Checkpoint,
    long Position,
    long Head,
    long LagEvents,
    double LagSeconds,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    string? Node,
    long EventsProcessed,
    long Redeliveries,
    int DeadLetters,
    int Parked,
    int BatchSize,
    int CheckpointEvery,
    TimeSpan PollInterval,
    IReadOnlyList<string> Handlers)
{
    /// <summary>
    /// Handler invocations of this subscription's pool that outlived their timeout (the handler ignored its token) since
    /// the subscription started on its node: each worker was replaced, and its event waited until the run really ended.
    /// </summary>
    public long Abandoned { get; init; }

    /// <summary>
    /// Journal orderings this subscription passed over as permanent gaps (a write that took its number and never
    /// committed within <c>Subscriptions:GapTimeout</c>) since it started on its node; each is also logged.
    /// </summary>
    public long SkippedGaps { get; init; }
}

/// <summary>
/// Asks for the status of every subscription (or one, by name). Sent to the subscription office it is answered
/// with <see cref="SubscriptionStatusReport"/> (or <see cref="SubscriptionOperationFailed"/> for an unknown name);
/// sent to one subscription with its <see cref="SubscriptionStatus"/>.
/// </summary>
/// <param name="Name">One subscription, or null for all.</param>
public sealed record GetSubscriptionStatus(string? Name = null);

/// <summary>The status of the subscriptions asked for, in registration order.</summary>
/// <param name="Subscriptions">One entry per subscription.</param>
public sealed record SubscriptionStatusReport(IReadOnlyList<SubscriptionStatus> Subscriptions);

/// <summary>Stops a subscription's progress (it survives restarts and moves to other nodes) until <see cref="ResumeSubscription"/>.</summary>
/// <param name="Name">Subscription name.</param>
public sealed record PauseSubscription(string Name);

/// <summary>Lets a paused subscription continue from its checkpoint.</summary>
/// <param name="Name">Subscription name.</param>
public sealed record ResumeSubscription(string Name);

/// <summary>
/// Moves a subscription's checkpoint to <paramref name="Position"/> (0: the start of the journal); it continues from
/// there. A handler subscription's guarded handlers skip the events they have a processed-event row for, unless
/// <paramref name="Rerun"/>. For a projection this does not touch its tables: use <see cref="RebuildProjection"/> to
/// start over cleanly.
/// </summary>
/// <param name="Name">Subscription name.</param>
/// <param name="Position">The new checkpoint (journal ordering; the next event read is the first after it).</param>
/// <param name="Rerun">
/// Run the events after <paramref name="Position"/> again: the processed-event rows of the subscription's handlers for
/// them are deleted with the move, so their effects (and follow-ups) happen again. False: they are skipped where a row
/// is kept (rows are pruned after <c>Subscriptions:ProcessedEventRetention</c>; an event whose row is gone runs again).
/// </param>
public sealed record ResetSubscription(string Name, long Position = 0, bool Rerun = false);

/// <summary>
/// Rebuilds a projection: its tables are cleared and its checkpoint set to 0 in one transaction, then it replays
/// the journal. The other subscriptions keep running.
/// </summary>
/// <param name="Name">Projection name.</param>
public sealed record RebuildProjection(string Name);

/// <summary>Reply to pause, resume, reset and rebuild: what was done and the status afterwards.</summary>
/// <param name="Name">Subscription name.</param>
/// <param name="Operation">pause, resume, reset or rebuild.</param>
/// <param name="Status">The status right after the operation.</param>
public sealed record SubscriptionOperationCompleted(string Name, string Operation, SubscriptionStatus Status);

/// <summary>A subscription request could not be carried out.</summary>
/// <param name="Name">The subscription named in the request.</param>
/// <param name="Code">Machine-readable reason.</param>
/// <param name="Reason">Human-readable explanation.</param>
public sealed record SubscriptionOperationFailed(string? Name, SubscriptionErrorCode Code, string Reason);

/// <summary>Why a subscription request failed.</summary>
public enum SubscriptionErrorCode
{
    /// <summary>No subscription has that name.</summary>
    UnknownSubscription = 1,

    /// <summary>Rebuild asked of a subscription that is not a projection.</summary>
    NotAProjection = 2,

    /// <summary>The subscription's singleton did not answer in time.</summary>
    Unreachable = 3,

    /// <summary>The operation failed (the message says why, e.g. the database is unreachable).</summary>
    Failed = 4,

    /// <summary>The position is negative.</summary>
    InvalidPosition = 5,

    /// <summary>Subscriptions do not run on this cluster.</summary>
    Disabled = 6,
}
