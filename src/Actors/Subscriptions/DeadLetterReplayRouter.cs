using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Stands in for the pool behind the dead-letter office: a replay or skip of a handler that takes events in the request
/// goes to the request pool, one of a durable-only handler to the node's durable replay pool (built from the durable
/// handlers, with the processed-event guard), one of a projection to that projection's subscription (wherever its
/// singleton runs, through the node's <see cref="SubscriptionOffice"/>: it applies the entry and its followers in order
/// with what it projects), and a purge to both pools, each with the purged entries of its handlers. A pool that
/// resolves a dead letter announces it on the event stream, so the subscription pool that parked the followers on this
/// node releases them. A broker subscriber's message goes to the node's <see cref="InboundMessageDesk"/>.
/// </summary>
internal sealed class DeadLetterReplayRouter : ReceiveActor
{
    /// <summary>Creates the router.</summary>
    /// <param name="handlers">Every registered handler.</param>
    /// <param name="projections">Names of the projections.</param>
    /// <param name="requestPool">The request pool.</param>
    /// <param name="durablePool">The pool that replays durable-only handlers (null: there are none).</param>
    /// <param name="timeout">How long a projection is given to resolve a dead letter.</param>
    public DeadLetterReplayRouter(HandlerSubscriptionTable handlers, IReadOnlySet<string> projections, IActorRef requestPool, IActorRef? durablePool,
        TimeSpan timeout)
    {
        IActorRef PoolOf(string handler) =>
            durablePool is not null && handlers.Find(handler) is { Delivery: HandlerDelivery.Durable } ? durablePool : requestPool;

        Receive<ReplayDeadLetterEntry>(replay => Route(replay.Entry, replay.Requester, DeadLetterResolution.Replay, replay));
        Receive<SkipDeadLetterEntry>(skip => Route(skip.Entry, skip.Requester, DeadLetterResolution.Skip, skip));
        Receive<PurgeProjectionDeadLetters>(purge => ToProjection(new ResolveProjectionDeadLetter(purge.Projection, 0, DeadLetterResolution.Purge), Sender));
        Receive<ReleaseAllParked>(release =>
        {
            var byPool = release.Purged.ToLookup(entry => PoolOf(entry.Handler));
            requestPool.Forward(new ReleaseAllParked(byPool[requestPool].ToArray()));
            if (durablePool is not null)
            {
                durablePool.Forward(new ReleaseAllParked(byPool[durablePool].ToArray()));
            }
        });
        return;

        void Route(DeadLetter entry, IActorRef requester, DeadLetterResolution resolution, object request)
        {
            if (entry.Envelope.Event is BrokerMessage)
            {
                // A broker subscriber's message: its node's subscriber desk runs the subscriber again (or skips it).
                if (ActorRegistry.For(Context.System).TryGet<InboundMessageDesk>(out var desk))
                {
                    desk.Forward(request);
                }
                else
                {
                    requester.Tell(new DeadLetterOperationFailed(entry.Id, $"Subscriber '{entry.Handler}' does not run on this node (no broker is configured)."));
                }
            }
            else if (projections.Contains(entry.Handler))
            {
                ToProjection(new ResolveProjectionDeadLetter(entry.Handler, entry.Id, resolution), requester);
            }
            else
            {
                PoolOf(entry.Handler).Forward(request);
            }
        }

        void ToProjection(ResolveProjectionDeadLetter request, IActorRef requester)
        {
            if (!ActorRegistry.For(Context.System).TryGet<SubscriptionOffice>(out var office))
            {
                requester.Tell(new DeadLetterOperationFailed(request.Id, $"Projection '{request.Name}' does not run on this node's cluster."));
                return;
            }

            office.Ask<object>(request, timeout).ContinueWith(task => task.IsCompletedSuccessfully
                ? task.Result switch
                {
                    SubscriptionOperationFailed failed => new DeadLetterOperationFailed(request.Id, failed.Reason),
                    var reply => reply,
                }
                : new DeadLetterOperationFailed(request.Id, $"Projection '{request.Name}' did not answer within {timeout.TotalSeconds:0} s; try again."),
                TaskScheduler.Default).PipeTo(requester);
        }
    }

    /// <summary>Props of the router.</summary>
    public static Props Props(HandlerSubscriptionTable handlers, IReadOnlySet<string> projections, IActorRef requestPool, IActorRef? durablePool, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new DeadLetterReplayRouter(handlers, projections, requestPool, durablePool, timeout));
}

/// <summary>
/// The <see cref="ActorRegistry"/> key of the actor that replays and skips broker subscribers' dead letters (entries whose
/// event is a <see cref="BrokerMessage"/>); registered by the broker integration.
/// </summary>
internal sealed class InboundMessageDesk;
