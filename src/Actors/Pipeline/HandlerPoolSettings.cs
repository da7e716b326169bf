using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Pipeline;

/// <summary>Settings of one handler pool.</summary>
/// <param name="MaxConcurrentEventHandlers">Most (event, handler) pairs running at once.</param>
/// <param name="ConcurrentEventHandleEnable">False: one at a time, in emission order (follow-ups breadth-first).</param>
/// <param name="Ordering">Per-aggregate ordering or none (parallel mode only).</param>
/// <param name="MaxFollowUpDepth">Deepest follow-up cascade allowed.</param>
/// <param name="SourceNode">This node's address, stamped on follow-up events.</param>
/// <param name="Retry">Default retry policy of handlers.</param>
/// <param name="ParkingRefreshInterval">How often the pool reads the open dead letters of its handlers (see <see cref="PipelineOptions.ParkingRefreshInterval"/>).</param>
internal sealed record HandlerPoolSettings(int MaxConcurrentEventHandlers, bool ConcurrentEventHandleEnable, EventOrdering Ordering, int MaxFollowUpDepth,
    string SourceNode, RetryOptions Retry, TimeSpan ParkingRefreshInterval)
{
    /// <summary>
    /// True for a subscription's pool: a parked follower finishes its request (the batch) only once it is recorded on
    /// the stored dead letter, or once it ran here — so the checkpoint never passes a follower that only memory holds.
    /// False (a request pool): the reply reports it parked at once (in-request delivery is at-most-once anyway).
    /// </summary>
    public bool ParkedFinishOnceRecorded { get; init; }

    /// <summary>
    /// When set, the pool publishes <see cref="PipelinePressure"/> on the node's event stream each time its queue reaches
    /// this many items and each time it falls below again: the mediator refuses new commands meanwhile.
    /// </summary>
    public int? AdmissionLimit { get; init; }

    /// <summary>
    /// Set on the node's request pool, which is its aggregates' event sink: the streaming pool, to which it hands the
    /// events of streaming requests and, after its own, an aggregate's drain.
    /// </summary>
    public Akka.Actor.IActorRef? StreamingPool { get; init; }

    /// <summary>A pool of <paramref name="maxConcurrent"/> workers (or one, when not <paramref name="concurrent"/>) under the node's pipeline options.</summary>
    public static HandlerPoolSettings Of(PipelineOptions pipeline, int maxConcurrent, bool concurrent, string node) =>
        new(maxConcurrent, concurrent, pipeline.Ordering, pipeline.MaxFollowUpDepth, node, pipeline.Retry, pipeline.ParkingRefreshInterval);

    /// <summary>Workers actually started: 1 in sequential mode.</summary>
    public int Workers => ConcurrentEventHandleEnable ? Math.Max(1, MaxConcurrentEventHandlers) : 1;

    /// <summary>Whether a failed event parks the later events of its aggregate for that handler.</summary>
    public bool ParksFollowers => ConcurrentEventHandleEnable && Ordering == EventOrdering.PerAggregate;
}

/// <summary>What the pool depends on.</summary>
/// <param name="Subscriptions">Which handlers take which events.</param>
/// <param name="Types">The closed type map (for follow-up events).</param>
/// <param name="Load">Shared load figures.</param>
/// <param name="Scopes">DI scopes for handler invocations.</param>
/// <param name="DeadLetters">The durable dead-letter store.</param>
/// <param name="InvocationFilter">Wraps every handler invocation (null: none).</param>
internal sealed record HandlerPoolDependencies(
    HandlerSubscriptionTable Subscriptions, MessageTypeRegistry Types, HandlerPoolLoad Load, IServiceScopeFactory Scopes, IDeadLetterStore DeadLetters,
    IHandlerInvocationFilter? InvocationFilter = null);
