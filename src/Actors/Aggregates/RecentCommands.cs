using ActorEvents.Messages;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// The de-duplication memory of one aggregate: the commands it applied, with their events, so a retry with the same
/// command id is answered with the original events instead of being applied again. A command is remembered for
/// <c>retention</c> after it was applied, and at most the <c>capacity</c> most recent commands are kept (the memory bound):
/// a retry is recognised when it arrives within the retention and fewer than <c>capacity</c> commands were applied since.
/// Rebuilt on recovery from the snapshot (which carries it) and the events after it (their causation id is the command id).
/// </summary>
internal sealed class RecentCommands(int capacity, TimeSpan retention)
{
    private readonly Dictionary<string, RecentCommand> _byId = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>Commands remembered now.</summary>
    public int Count => _byId.Count;

    /// <summary>Loads the memory a snapshot carries (snapshots written before it carried events bring their ids only).</summary>
    public void Load(AggregateSnapshot snapshot)
    {
        if (snapshot.RecentCommands is { } commands)
        {
            foreach (var command in commands)
            {
                Remember(command);
            }

            return;
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var id in snapshot.RecentCommandIds)
        {
            Remember(new RecentCommand(id, now, []));
        }
    }

    /// <summary>An event read back during recovery: it belongs to the command named by its causation id.</summary>
    public void Recovered(EventEnvelope envelope)
    {
        if (_byId.TryGetValue(envelope.CausationId, out var existing))
        {
            var replaced = existing with { Events = [.. existing.Events, envelope] };
            _byId[envelope.CausationId] = replaced;
            return;
        }

        Remember(new RecentCommand(envelope.CausationId, envelope.OccurredAt, [envelope]));
    }

    /// <summary>A command just applied.</summary>
    public void Applied(string commandId, IReadOnlyList<EventEnvelope> events) =>
        Remember(new RecentCommand(commandId, DateTimeOffset.UtcNow, events));

    /// <summary>The events of a remembered command.</summary>
    public bool TryGet(string commandId, out IReadOnlyList<EventEnvelope> events)
    {
        Evict(DateTimeOffset.UtcNow);
        var found = _byId.TryGetValue(commandId, out var command);
        events = command?.Events ?? [];
        return found;
    }

    /// <summary>A snapshot of <paramref name="state"/> that carries this memory.</summary>
    public AggregateSnapshot Snapshot(object state)
    {
        Evict(DateTimeOffset.UtcNow);
        var commands = _order.Select(id => _byId[id]).ToArray();
        return new AggregateSnapshot(state, [.. commands.Select(c => c.CommandId)], commands);
    }

    private void Remember(RecentCommand command)
    {
        if (capacity <= 0 || _byId.ContainsKey(command.CommandId))
        {
            return;
        }

        _byId[command.CommandId] = command;
        _order.Enqueue(command.CommandId);
        Evict(DateTimeOffset.UtcNow);
    }

    private void Evict(DateTimeOffset now)
    {
        while (_order.Count > 0 && (_order.Count > capacity || (retention > TimeSpan.Zero && now - _byId[_order.Peek()].AppliedAt > retention)))
        {
            _byId.Remove(_order.Dequeue());
        }
    }
}
