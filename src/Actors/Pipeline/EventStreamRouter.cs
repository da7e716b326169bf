using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Fans persisted events out to the handlers subscribed to them: it matches each event against the
/// subscription table and sends the resulting work items to the right pool. It routes; it never runs a handler.
/// </summary>
public sealed class EventStreamRouter : ReceiveActor
{
    /// <summary>Creates the router.</summary>
    public EventStreamRouter(HandlerSubscriptionTable subscriptions, IActorRef requestPool, IActorRef streamingPool)
    {
        Receive<DispatchEvents>(dispatch =>
        {
            var items = new List<WorkItem>();
            foreach (var envelope in dispatch.Events)
            {
                foreach (var handler in subscriptions.Match(envelope))
                {
                    items.Add(new WorkItem(dispatch.RequestId, envelope, handler, 0));
                }
            }

            if (items.Count == 0)
            {
                dispatch.ReplyTo?.Tell(new DispatchCompleted(dispatch.RequestId, []));
                return;
            }

            var pool = dispatch.Pipeline == PipelineKind.Streaming ? streamingPool : requestPool;
            pool.Tell(new EnqueueWork(dispatch.RequestId, items, dispatch.ReplyTo));
        });
    }

    /// <summary>Props of the router.</summary>
    public static Props Props(HandlerSubscriptionTable subscriptions, IActorRef requestPool, IActorRef streamingPool) =>
        Akka.Actor.Props.Create(() => new EventStreamRouter(subscriptions, requestPool, streamingPool));
}
