using Akka.Actor;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// The event sink of aggregates that run without an event pipeline (an actor system with no handler pool, e.g. a test's): it
/// answers a persisted command's caller at once and lets a stopping entity stop at once. One per actor system
/// (<c>/system/actor-events-no-event-sink</c>), so an aggregate always has a sink to tell.
/// </summary>
internal sealed class NoEventSink : ReceiveActor
{
    /// <summary>Creates the sink.</summary>
    public NoEventSink()
    {
        Receive<EventsPersisted>(persisted => persisted.Reply?.ReplyTo.Tell(persisted.Reply.Accepted));
        Receive<DrainAggregate>(drain => drain.ReplyTo.Tell(AggregateDrained.Instance));
    }

    /// <summary>The given sink, or the actor system's null sink when there is none.</summary>
    public static IActorRef OrNone(IActorRef? sink, ActorSystem system) => sink ?? system.WithExtension<NoEventSinkRef, NoEventSinkProvider>().Sink;

    private sealed class NoEventSinkRef(IActorRef sink) : IExtension
    {
        public IActorRef Sink { get; } = sink;
    }

    private sealed class NoEventSinkProvider : ExtensionIdProvider<NoEventSinkRef>
    {
        public override NoEventSinkRef CreateExtension(ExtendedActorSystem system) =>
            new(system.SystemActorOf(Props.Create(() => new NoEventSink()), "actor-events-no-event-sink"));
    }
}
