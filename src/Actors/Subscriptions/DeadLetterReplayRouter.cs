using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Stands in for the pool behind the dead-letter office: a replay or skip of a handler that takes events in the request
/// goes to the request pool, one of a durable-only handler to the node's durable replay pool (built from the durable
/// handlers, with the processed-event guard), and a purge to both, each with the purged entries of its handlers. A pool
/// that resolves a dead letter announces it on the event stream, so the subscription pool that parked the followers on
/// this node releases them.
/// </summary>
public sealed class DeadLetterReplayRouter : ReceiveActor
{
    /// <summary>Creates the router.</summary>
    /// <param name="handlers">Every registered handler.</param>
    /// <param name="requestPool">The request pool.</param>
    /// <param name="durablePool">The pool that replays durable-only handlers.</param>
    public DeadLetterReplayRouter(HandlerSubscriptionTable handlers, IActorRef requestPool, IActorRef durablePool)
    {
        IActorRef PoolOf(string handler) =>
            handlers.Find(handler) is { Delivery: HandlerDelivery.Durable } ? durablePool : requestPool;

        Receive<ReplayDeadLetterEntry>(replay => PoolOf(replay.Entry.Handler).Forward(replay));
        Receive<SkipDeadLetterEntry>(skip => PoolOf(skip.Entry.Handler).Forward(skip));
        Receive<ReleaseAllParked>(release =>
        {
            var byPool = release.Purged.ToLookup(entry => PoolOf(entry.Handler));
            requestPool.Forward(new ReleaseAllParked(byPool[requestPool].ToArray()));
            durablePool.Forward(new ReleaseAllParked(byPool[durablePool].ToArray()));
        });
    }

    /// <summary>Props of the router.</summary>
    public static Props Props(HandlerSubscriptionTable handlers, IActorRef requestPool, IActorRef durablePool) =>
        Akka.Actor.Props.Create(() => new DeadLetterReplayRouter(handlers, requestPool, durablePool));
}
