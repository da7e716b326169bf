using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Which handler pool of this actor system holds which parked follower of which dead letter. When a pool of the node
/// takes an entry (a replay, skip or purge here), the followers that another pool of the node parked are left to that
/// pool, which runs them in its own order with what it parked since (so a new event in that pool never overtakes
/// them); the taker runs only the entry's followers that no pool here holds (parked on another node, or before a
/// restart). A pool that learns from the store that its entry is gone, without a local take, runs only the followers
/// the entry did not record. Owned by the node's <see cref="ParkingCoordinator"/>, which asks it one message at a time,
/// so a follower is left to a holder only while the holder has not released its stream yet.
/// </summary>
internal sealed class ParkingLedger
{
    private readonly Dictionary<long, Dictionary<string, HashSet<IActorRef>>> _held = new();
    private readonly HashSet<long> _takenHere = new();

    /// <summary>A pool parked a follower behind a dead letter.</summary>
    public void Hold(long deadLetterId, string eventId, IActorRef pool)
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

    /// <summary>
    /// <paramref name="taker"/>, a pool of this node, took the entry: returns its recorded followers, in order, that no
    /// other pool here holds (the taker's to run); the others are left to their holders.
    /// </summary>
    public IReadOnlyList<EventEnvelope> TakeHere(long deadLetterId, IReadOnlyList<EventEnvelope> followers, IActorRef taker)
    {
        if (!_held.TryGetValue(deadLetterId, out var held))
        {
            return followers;
        }

        _takenHere.Add(deadLetterId);
        return followers.Where(f => !held.TryGetValue(f.EventId, out var holders) || holders.All(h => h.Equals(taker))).ToArray();
    }

    /// <summary>
    /// A pool releases its stream behind a dead letter; true when a pool of this node took the entry (then a releasing
    /// pool other than the taker runs everything it holds).
    /// </summary>
    public bool Release(long deadLetterId, IActorRef pool)
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

    /// <summary>A pool stopped: it holds nothing any more (a take here must not leave followers to a pool that is gone).</summary>
    public void ReleaseAll(IActorRef pool)
    {
        foreach (var deadLetterId in _held.Where(h => h.Value.Values.Any(holders => holders.Contains(pool))).Select(h => h.Key).ToArray())
        {
            Release(deadLetterId, pool);
        }
    }
}
