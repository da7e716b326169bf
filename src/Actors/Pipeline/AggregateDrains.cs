using ActorEvents.Actors.Aggregates;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Pool → pool: drain an aggregate in this pool, then hand the drain to the next pool of the node, and
/// the last answers the aggregate with <see cref="AggregateDrained"/>.
/// </summary>
/// <param name="Drain">The aggregate's request.</param>
/// <param name="Then">The pools still to drain, in order.</param>
internal sealed record DrainPools(DrainAggregate Drain, IReadOnlyList<IActorRef> Then)
{
    /// <summary>Hands the drain on: to the next pool, or the answer to the aggregate.</summary>
    public void Continue()
    {
        if (Then.Count == 0)
        {
            Drain.ReplyTo.Tell(AggregateDrained.Instance);
        }
        else
        {
            Then[0].Tell(this with { Then = [.. Then.Skip(1)] });
        }
    }
}

/// <summary>
/// How many of each aggregate's items a pool holds (queued, running, or waiting for a retry; follow-ups included; parked
/// ones not: they wait in the dead-letter store), and the drains waiting for an aggregate's count to reach zero. An item
/// counts from when it is admitted as part of a request until its request's outcome for it is final.
/// </summary>
internal sealed class AggregateDrains
{
    private readonly Dictionary<(string Type, string Id), int> _inFlight = new();
    private readonly Dictionary<(string Type, string Id), List<DrainPools>> _waiting = new();

    /// <summary>Aggregates with items in the pool.</summary>
    public int Aggregates => _inFlight.Count;

    /// <summary>An item of a request was admitted.</summary>
    public void Admitted(WorkItem item)
    {
        var key = (item.Envelope.AggregateType, item.Envelope.AggregateId);
        _inFlight[key] = _inFlight.GetValueOrDefault(key) + 1;
    }

    /// <summary>An admitted item's outcome is final.</summary>
    /// <returns>The drains this released (the aggregate has no item left).</returns>
    public IReadOnlyList<DrainPools> Ended(WorkItem item)
    {
        var key = (item.Envelope.AggregateType, item.Envelope.AggregateId);
        if (!_inFlight.TryGetValue(key, out var count))
        {
            return [];
        }

        if (count > 1)
        {
            _inFlight[key] = count - 1;
            return [];
        }

        _inFlight.Remove(key);
        return _waiting.Remove(key, out var released) ? released : [];
    }

    /// <summary>A drain arrived: true when the aggregate has no item here (go on at once), else it waits for <see cref="Ended"/>.</summary>
    public bool TryDrain(DrainPools drain)
    {
        var key = (drain.Drain.AggregateType, drain.Drain.AggregateId);
        if (!_inFlight.ContainsKey(key))
        {
            return true;
        }

        if (!_waiting.TryGetValue(key, out var waiting))
        {
            _waiting[key] = waiting = [];
        }

        waiting.Add(drain);
        return false;
    }
}
