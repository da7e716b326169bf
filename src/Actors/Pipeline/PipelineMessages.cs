using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Pool → the node's event stream: its queue reached its admission limit (<paramref name="Overloaded"/>), or fell below it
/// again. The mediator of the node refuses commands as <see cref="RejectionCode.Overloaded"/> while it is.
/// </summary>
/// <param name="Pool">The pool.</param>
/// <param name="Overloaded">At or above the limit.</param>
/// <param name="Queued">Items waiting when it crossed.</param>
/// <param name="Limit">The limit.</param>
internal sealed record PipelinePressure(IActorRef Pool, bool Overloaded, int Queued, int Limit);

/// <summary>Every handler (and follow-up) of a dispatch has finished.</summary>
/// <param name="RequestId">The dispatch's request id.</param>
/// <param name="Outcomes">One outcome per (event, handler) pair, in completion order.</param>
internal sealed record DispatchCompleted(long RequestId, IReadOnlyList<HandlerOutcome> Outcomes);

/// <summary>One (event, handler) pair to run.</summary>
/// <param name="RequestId">Request the item belongs to (0: none).</param>
/// <param name="Envelope">The event.</param>
/// <param name="Handler">The handler.</param>
/// <param name="Depth">0 for persisted events, parent depth + 1 for follow-ups.</param>
internal sealed record WorkItem(long RequestId, EventEnvelope Envelope, HandlerDescriptor Handler, int Depth)
{
    /// <summary>1-based number of the invocation this item is (raised by every retry).</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>When the first attempt failed.</summary>
    public DateTimeOffset? FirstFailureAt { get; init; }

    /// <summary>Set when this item replays a dead letter.</summary>
    public long? DeadLetterId { get; init; }

    /// <summary>Who asked for the replay.</summary>
    public IActorRef? ReplayRequester { get; init; }

    /// <summary>Attempts made before this run of the retry policy started (a replay starts a fresh budget).</summary>
    public int RetryBase { get; init; }

    /// <summary>
    /// Set when this item is a recorded follower of a taken dead letter: once it finished (handled, dead-lettered, or
    /// recorded behind another entry) it is reported done to the store, which keeps the entry until its last follower is.
    /// </summary>
    public long? FollowerOf { get; init; }

    /// <summary>The ordering key: one handler and one aggregate.</summary>
    public OrderingKey Key => new(Handler.Name, Envelope.AggregateType, Envelope.AggregateId);
}

/// <summary>Events with the same key are handled in sequence order when ordering is <see cref="Configuration.EventOrdering.PerAggregate"/>.</summary>
/// <param name="Handler">Handler name.</param>
/// <param name="AggregateType">Aggregate type.</param>
/// <param name="AggregateId">Aggregate id.</param>
internal readonly record struct OrderingKey(string Handler, string AggregateType, string AggregateId);

/// <summary>Work items for the pool.</summary>
/// <param name="RequestId">Request id (0: none).</param>
/// <param name="Items">Items, in emission order.</param>
/// <param name="ReplyTo">Who gets <see cref="DispatchCompleted"/> (null: nobody, or <see cref="Reply"/>'s caller).</param>
internal sealed record EnqueueWork(long RequestId, IReadOnlyList<WorkItem> Items, IActorRef? ReplyTo)
{
    /// <summary>A command's answer, completed with the outcomes and sent to its caller once every item finished (or at its deadline).</summary>
    public AwaitedReply? Reply { get; init; }
}

/// <summary>Pool → worker: run one item.</summary>
/// <param name="Item">The item.</param>
/// <param name="Policy">The handler's retry policy (for its timeout and error classification).</param>
internal sealed record RunWork(WorkItem Item, Configuration.RetryOptions Policy);

/// <summary>Worker → pool: an item finished.</summary>
/// <param name="Item">The item.</param>
/// <param name="Outcome">How it went.</param>
/// <param name="FollowUps">Follow-up events it emitted, or a redelivery handed back (only when it succeeded).</param>
/// <param name="Failure">What went wrong, when it failed.</param>
internal sealed record WorkDone(WorkItem Item, HandlerOutcome Outcome, IReadOnlyList<FollowUpEvent> FollowUps, Supervision.HandlerFailure? Failure = null);

/// <summary>
/// Live load figures of a handler pool, written by the pool actor alone: read by the gauges, by tests and by the bench
/// (the mediator's admission does not read them: it is told by <see cref="PipelinePressure"/> messages).
/// </summary>
public sealed class HandlerPoolLoad : Telemetry.IPoolFigures
{
    private int _queued;
    private int _running;
    private int _peakRunning;
    private long _completed;
    private long _failed;
    private int _parked;
    private int _retrying;
    private long _deadLettered;
    private long _retries;
    private long _abandoned;

    /// <summary>Items waiting for a worker.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Items running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Most items ever observed running at once.</summary>
    public int PeakRunning => Volatile.Read(ref _peakRunning);

    /// <summary>Items completed successfully.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Items that failed.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Events parked behind a dead-lettered event of the same aggregate.</summary>
    public int Parked => Volatile.Read(ref _parked);

    /// <summary>Items waiting for a retry.</summary>
    public int Retrying => Volatile.Read(ref _retrying);

    /// <summary>Items that went to the dead-letter store.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>Retries started.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>
    /// Invocations that outlived their timeout and went on running (the handler ignored its cancellation token): their
    /// worker was replaced, and their (handler, event) was retried only after they really ended.
    /// </summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    internal void CountAbandoned() => Interlocked.Increment(ref _abandoned);

    internal void SetParked(int parked, int retrying)
    {
        Volatile.Write(ref _parked, parked);
        Volatile.Write(ref _retrying, retrying);
    }

    internal void CountDeadLetter() => Interlocked.Increment(ref _deadLettered);

    internal void CountRetry() => Interlocked.Increment(ref _retries);

    internal void Set(int queued, int running)
    {
        Volatile.Write(ref _queued, queued);
        Volatile.Write(ref _running, running);
        if (running > _peakRunning)
        {
            Volatile.Write(ref _peakRunning, running);
        }
    }

    internal void Count(bool succeeded)
    {
        if (succeeded)
        {
            Interlocked.Increment(ref _completed);
        }
        else
        {
            Interlocked.Increment(ref _failed);
        }
    }
}

/// <summary>Load of the node's two handler pools (a singleton service: read it for metrics or tests).</summary>
public sealed class EventPipelineLoad
{
    /// <summary>The request pool.</summary>
    public HandlerPoolLoad Request { get; } = new();

    /// <summary>The streaming pool.</summary>
    public HandlerPoolLoad Streaming { get; } = new();

    /// <summary>The pool that replays the dead letters of durable-only handlers (and runs their parked followers).</summary>
    public HandlerPoolLoad DurableReplay { get; } = new();
}

/// <summary>
/// Parking coordinator → the node's other pools: dead letters were resolved (replayed successfully, skipped or purged)
/// and taken from the store by a pool of this node, which runs their recorded followers. Pools release their streams
/// parked behind them at once (rather than at their next refresh), running only the followers that were not recorded on
/// the entry, or all they hold when the taker left them theirs (<see cref="StreamReleased.TakenHere"/>).
/// </summary>
/// <param name="DeadLetterIds">The resolved dead letters.</param>
internal sealed record DeadLetterResolved(IReadOnlyCollection<long> DeadLetterIds);

