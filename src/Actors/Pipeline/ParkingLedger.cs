using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Which handler pool of this actor system holds which parked follower of which dead letter. When a pool of the node
/// takes an entry (a replay, skip or purge here), the followers that another pool of the node parked are left to that
/// pool, which runs them in its own order with what it parked since (so a new event in that pool never overtakes
/// them); the taker runs only the entry's followers that no pool here holds (parked on another node, or before a
/// restart). A pool that learns from the store that its entry is gone, without a local take, runs only the followers
/// the entry did not record. Both decisions are made under one lock, so a follower is left to a holder only while the
/// holder has not released its stream yet.
/// </summary>
internal sealed class ParkingLedger : IExtension
{
    private readonly object _gate = new();
    private readonly Dictionary<long, Dictionary<string, HashSet<IActorRef>>> _held = new();
    private readonly HashSet<long> _takenHere = new();

    /// <summary>The ledger of an actor system.</summary>
    public static ParkingLedger Of(ActorSystem system) => system.WithExtension<ParkingLedger, ParkingLedgerProvider>();

    /// <summary>A pool parked a follower behind a dead letter.</summary>
    public void Hold(long deadLetterId, string eventId, IActorRef pool)
    {
        lock (_gate)
        {
            if (!_held.TryGetValue(deadLetterId, out var followers))
            {
                followers = new Dictionary<string, HashSet<IActorRef>>();
                _held[deadLetterId] = followers;
            }

            if (!followers.TryGetValue(eventId, out var holders))
            {
                holders = [];
                followers[eventId] = holders;
            }

            holders.Add(pool);
        }
    }

    /// <summary>
    /// <paramref name="taker"/>, a pool of this node, took the entry: returns its recorded followers, in order, that no
    /// other pool here holds (the taker's to run); the others are left to their holders.
    /// </summary>
    public IReadOnlyList<EventEnvelope> TakeHere(long deadLetterId, IReadOnlyList<EventEnvelope> followers, IActorRef taker)
    {
        lock (_gate)
        {
            if (!_held.TryGetValue(deadLetterId, out var held))
            {
                return followers;
            }

            _takenHere.Add(deadLetterId);
            return followers.Where(f => !held.TryGetValue(f.EventId, out var holders) || holders.All(h => h.Equals(taker))).ToArray();
        }
    }

    /// <summary>
    /// A pool releases its stream behind a dead letter; true when a pool of this node took the entry (then a releasing
    /// pool other than the taker runs everything it holds).
    /// </summary>
    public bool Release(long deadLetterId, IActorRef pool)
    {
        lock (_gate)
        {
            var takenHere = _takenHere.Contains(deadLetterId);
            if (_held.TryGetValue(deadLetterId, out var held))
            {
                foreach (var (eventId, holders) in held.ToArray())
                {
                    if (holders.Remove(pool) && holders.Count == 0)
                    {
                        held.Remove(eventId);
                    }
                }

                if (held.Count == 0)
                {
                    _held.Remove(deadLetterId);
                    _takenHere.Remove(deadLetterId);
                }
            }

            return takenHere;
        }
    }

    private sealed class ParkingLedgerProvider : ExtensionIdProvider<ParkingLedger>
    {
        public override ParkingLedger CreateExtension(ExtendedActorSystem system) => new();
    }
}
