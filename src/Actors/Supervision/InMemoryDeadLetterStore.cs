using ActorEvents.Messages;
using LinqToDB;

namespace ActorEvents.Actors.Supervision;

/// <summary>Dead letters in memory (the in-memory persistence provider): nothing survives the process.</summary>
public sealed class InMemoryDeadLetterStore : IDeadLetterStore
{
    private readonly object _gate = new();
    private readonly SortedDictionary<long, DeadLetter> _entries = new();
    private long _nextId;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var id = ++_nextId;
            _entries[id] = new DeadLetter(id, entry.Handler, entry.Envelope, entry.Error.ErrorType, entry.Error.Message, entry.Error.StackTrace,
                entry.Attempts, entry.FirstFailureAt, DateTimeOffset.UtcNow, []);
            return Task.FromResult(id);
        }
    }

    /// <inheritdoc />
    public Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(id, out var entry))
            {
                return Task.FromResult(false);
            }

            if (entry.ParkedFollowers.All(f => f.EventId != follower.EventId))
            {
                _entries[id] = entry with { ParkedFollowers = [.. entry.ParkedFollowers, follower] };
            }

            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task RecordFailureAsync(long id, HandlerFailure error, int attempts, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                _entries[id] = entry with
                {
                    Attempts = attempts, ErrorType = error.ErrorType, ErrorMessage = error.Message, StackTrace = error.StackTrace, LastFailureAt = DateTimeOffset.UtcNow,
                };
            }

            return Task.CompletedTask;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<DeadLetter>>(_entries.Values
                .Where(e => (filter.Handler is null || e.Handler == filter.Handler)
                            && (filter.EventType is null || e.Envelope.EventType == filter.EventType)
                            && (filter.AggregateId is null || e.Envelope.AggregateId == filter.AggregateId))
                .Take(filter.Limit).ToArray());
        }
    }

    /// <inheritdoc />
    public Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_entries.GetValueOrDefault(id));
        }
    }

    /// <inheritdoc />
    public Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            // Nothing here outlives the process, so there is no resolver to outlive: the entry goes at once.
            return Task.FromResult(_entries.Remove(id, out var entry) ? entry : null);
        }
    }

    /// <inheritdoc />
    public Task FollowerDoneAsync(long id, string eventId, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ClaimStaleResolutionsAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([]);

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> PurgeAsync(IReadOnlyCollection<string> except, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var taken = _entries.Values.Where(e => !except.Contains(e.Handler)).ToArray();
            foreach (var entry in taken)
            {
                _entries.Remove(entry.Id);
            }

            return Task.FromResult<IReadOnlyList<DeadLetter>>(taken);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<DeadLetterKey>>(_entries.Values.Where(e => handlers.Contains(e.Handler))
                .Select(e => new DeadLetterKey(e.Id, e.Handler, e.Envelope.AggregateType, e.Envelope.AggregateId, e.Envelope.EventId)).ToArray());
        }
    }

    /// <inheritdoc />
    public Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var entries = _entries.Values.Where(e => handlers.Contains(e.Handler)).ToArray();
            return Task.FromResult(new DeadLetterCount(entries.Length, entries.Sum(e => e.ParkedFollowers.Count)));
        }
    }
}
