using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// The node's parking coordinator: one actor per actor system (<c>/system/actor-events-parking</c>) that alone owns the
/// <see cref="ParkingLedger"/> of which handler pool holds which parked follower of which dead letter. A pool tells it
/// what it holds, asks it — when it took an entry — which recorded followers are its own to run, asks it — when it
/// releases a stream — whether a pool here took the entry, and tells it the entries it resolved, which the coordinator
/// passes on at once to the node's other pools. It answers one message at a time, so a follower is left to its holder
/// only while the holder has not released its stream yet; a pool that stops holds nothing any more.
/// </summary>
internal sealed class ParkingCoordinator : ReceiveActor
{
    private readonly ParkingLedger _ledger = new();
    private readonly HashSet<IActorRef> _pools = [];

    /// <summary>Creates the coordinator.</summary>
    public ParkingCoordinator()
    {
        Receive<JoinParking>(_ =>
        {
            // A pool joins as it starts, and again when it was restarted: a fresh incarnation holds nothing.
            Join(Sender);
            _ledger.ReleaseAll(Sender);
        });
        Receive<HoldFollower>(hold =>
        {
            Join(Sender);
            _ledger.Hold(hold.DeadLetterId, hold.EventId, Sender);
        });
        Receive<TakeHere>(take => Sender.Tell(new TakenHere(take.DeadLetterId, _ledger.TakeHere(take.DeadLetterId, take.Recorded, Sender), take.Handler)));
        Receive<ReleaseStream>(release => Sender.Tell(new StreamReleased(release.Key, release.DeadLetterId, _ledger.Release(release.DeadLetterId, Sender))));
        Receive<AnnounceResolved>(announce =>
        {
            foreach (var pool in _pools.Where(p => !p.Equals(Sender)))
            {
                pool.Tell(new DeadLetterResolved(announce.DeadLetterIds));
            }
        });
        Receive<Terminated>(stopped =>
        {
            _pools.Remove(stopped.ActorRef);
            _ledger.ReleaseAll(stopped.ActorRef);
        });
    }

    /// <summary>The coordinator of an actor system (created with the system's first pool).</summary>
    public static IActorRef Of(ActorSystem system) => system.WithExtension<ParkingCoordinatorRef, ParkingCoordinatorProvider>().Coordinator;

    private void Join(IActorRef pool)
    {
        if (_pools.Add(pool))
        {
            Context.Watch(pool);
        }
    }

    private sealed class ParkingCoordinatorRef(IActorRef coordinator) : IExtension
    {
        public IActorRef Coordinator { get; } = coordinator;
    }

    private sealed class ParkingCoordinatorProvider : ExtensionIdProvider<ParkingCoordinatorRef>
    {
        public override ParkingCoordinatorRef CreateExtension(ExtendedActorSystem system) =>
            new(system.SystemActorOf(Props.Create(() => new ParkingCoordinator()), "actor-events-parking"));
    }
}

/// <summary>Pool → coordinator, as it starts (and restarts: it holds nothing then): tell me the dead letters the node's other pools resolve.</summary>
internal sealed record JoinParking
{
    /// <summary>The message.</summary>
    public static JoinParking Instance { get; } = new();
}

/// <summary>Pool → coordinator: it parked a follower behind a dead letter and is recording it on the entry.</summary>
/// <param name="DeadLetterId">The entry.</param>
/// <param name="EventId">The follower's event.</param>
internal sealed record HoldFollower(long DeadLetterId, string EventId);

/// <summary>Pool → coordinator: it took the entry; which of its recorded followers are the pool's to run (reply: <see cref="TakenHere"/>)?</summary>
/// <param name="DeadLetterId">The entry.</param>
/// <param name="Recorded">The followers recorded on it, in order.</param>
/// <param name="Handler">The entry's handler (handed back).</param>
internal sealed record TakeHere(long DeadLetterId, IReadOnlyList<EventEnvelope> Recorded, HandlerDescriptor Handler);

/// <summary>Coordinator → taker: the recorded followers, in order, that no other pool of the node holds.</summary>
/// <param name="DeadLetterId">The entry.</param>
/// <param name="ToRun">The taker's to run.</param>
/// <param name="Handler">The entry's handler.</param>
internal sealed record TakenHere(long DeadLetterId, IReadOnlyList<EventEnvelope> ToRun, HandlerDescriptor Handler);

/// <summary>Pool → coordinator: its stream behind a gone entry is released (reply: <see cref="StreamReleased"/>).</summary>
/// <param name="Key">The stream.</param>
/// <param name="DeadLetterId">The gone entry.</param>
internal sealed record ReleaseStream(OrderingKey Key, long DeadLetterId);

/// <summary>Coordinator → pool: whether a pool of this node took the entry (then a pool other than the taker runs everything it holds).</summary>
/// <param name="Key">The stream.</param>
/// <param name="DeadLetterId">The gone entry.</param>
/// <param name="TakenHere">A pool of this node took it.</param>
internal sealed record StreamReleased(OrderingKey Key, long DeadLetterId, bool TakenHere);

/// <summary>Pool → coordinator: it resolved (replayed, skipped or purged) and took these dead letters.</summary>
/// <param name="DeadLetterIds">The resolved entries.</param>
internal sealed record AnnounceResolved(IReadOnlyCollection<long> DeadLetterIds);
