using ActorEvents.Actors.Aggregates;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// The node's event sink: fans the events its aggregates persisted out to the handlers subscribed to them — it matches
/// each event against the subscription table and sends the resulting work items, under a request id of its own, to the
/// pool the command asked for — and hands an aggregate's drain to the node's pools. It routes; it never runs a handler.
/// Every aggregate tells the router of its own node, so one aggregate's events reach one pool in sequence order,
/// wherever its commands entered the cluster.
/// </summary>
internal sealed class EventStreamRouter : ReceiveActor
{
    private long _nextRequestId;

    /// <summary>Creates the router.</summary>
    public EventStreamRouter(HandlerSubscriptionTable subscriptions, IActorRef requestPool, IActorRef streamingPool)
    {
        Receive<EventsPersisted>(persisted =>
        {
            var requestId = ++_nextRequestId;
            var items = new List<WorkItem>();
            foreach (var envelope in persisted.Events)
            {
                foreach (var handler in subscriptions.Match(envelope))
                {
                    items.Add(new WorkItem(requestId, envelope, handler, 0));
                }
            }

            if (items.Count == 0)
            {
                if (persisted.Reply is { } reply)
                {
                    reply.ReplyTo.Tell(reply.AfterHandlers ? reply.Accepted with { HandlersCompleted = true, HandlerOutcomes = [] } : reply.Accepted);
                }

                return;
            }

            var pool = persisted.Pipeline == PipelineKind.Streaming ? streamingPool : requestPool;
            pool.Tell(new EnqueueWork(requestId, items, null) { Reply = persisted.Reply });
        });
        Receive<DrainAggregate>(drain => requestPool.Tell(new DrainPools(drain, [streamingPool])));
    }

    /// <summary>Props of the router.</summary>
    public static Props Props(HandlerSubscriptionTable subscriptions, IActorRef requestPool, IActorRef streamingPool) =>
        Akka.Actor.Props.Create(() => new EventStreamRouter(subscriptions, requestPool, streamingPool));
}
