using System.Text;
using System.Text.Json;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace ActorEvents.Actors.Supervision;

/// <summary>A new dead letter, before the store gives it an id.</summary>
/// <param name="Handler">Handler name.</param>
/// <param name="Envelope">The failed event.</param>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">Invocations so far.</param>
/// <param name="FirstFailureAt">First failure.</param>
public sealed record NewDeadLetter(string Handler, EventEnvelope Envelope, HandlerFailure Error, int Attempts, DateTimeOffset FirstFailureAt);

/// <summary>What went wrong in one invocation.</summary>
/// <param name="ErrorType">Exception type.</param>
/// <param name="Message">Exception message.</param>
/// <param name="StackTrace">Stack trace.</param>
/// <param name="Permanent">Whether retrying cannot help.</param>
public sealed record HandlerFailure(string ErrorType, string Message, string? StackTrace, bool Permanent)
{
    /// <summary>From an exception.</summary>
    public static HandlerFailure From(Exception error, bool permanent) =>
        new(error.GetType().FullName ?? error.GetType().Name, error.Message, error.ToString(), permanent);

    /// <inheritdoc />
    public override string ToString() => $"{ErrorType}: {Message}";
}

/// <summary>The durable store of dead letters.</summary>
public interface IDeadLetterStore
{
    /// <summary>Creates the table if it is missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds an entry and returns its id.</summary>
    Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a parked follower on an entry (once: a follower already recorded is not added again). Returns false when
    /// there is no such entry — it was replayed, skipped or purged — and the follower was not recorded: whoever parked
    /// it must run it. Appends and <see cref="TakeAsync"/> of one entry are serialized, so a follower is either in the
    /// taken entry or refused, never both and never neither.
    /// </summary>
    Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default);

    /// <summary>Records another failed attempt.</summary>
    Task RecordFailureAsync(long id, HandlerFailure error, int attempts, CancellationToken cancellationToken = default);

    /// <summary>Entries matching a filter, oldest first.</summary>
    Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>One entry, or null.</summary>
    Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes an entry and returns it as it was when removed, with every follower recorded up to that moment (null when
    /// there was none). Whoever takes an entry owns its recorded followers and runs them; a follower appended later is
    /// refused (<see cref="AddFollowerAsync"/> returns false), so the pool that parked it runs it.
    /// </summary>
    Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Takes every entry (as <see cref="TakeAsync"/> does, one by one) and returns them, oldest first.</summary>
    Task<IReadOnlyList<DeadLetter>> PurgeAsync(CancellationToken cancellationToken = default);

    /// <summary>The open entries of the given handlers, as keys only (no envelopes), oldest first.</summary>
    Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default);

    /// <summary>How many entries the given handlers have and how many followers are parked on them, counted by the store (no entry is read).</summary>
    Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default);
}

/// <summary>Open dead letters of some handlers, counted.</summary>
/// <param name="Entries">Entries.</param>
/// <param name="ParkedFollowers">Followers parked on them.</param>
public sealed record DeadLetterCount(int Entries, int ParkedFollowers);

/// <summary>Which (handler, aggregate) an open dead letter holds back.</summary>
/// <param name="Id">The entry's id.</param>
/// <param name="Handler">Handler name.</param>
/// <param name="AggregateType">Aggregate type of the dead-lettered event.</param>
/// <param name="AggregateId">Aggregate id of the dead-lettered event.</param>
public sealed record DeadLetterKey(long Id, string Handler, string AggregateType, string AggregateId);

/// <summary>Creates the store that matches the persistence provider.</summary>
public static class DeadLetterStores
{
    /// <summary>SQL store for SQLite/PostgreSQL, in-memory store for the in-memory provider.</summary>
    public static IDeadLetterStore Create(PersistenceOptions persistence, MessageTypeRegistry types) =>
        persistence.Provider == PersistenceProviders.InMemory
            ? new InMemoryDeadLetterStore()
            : new SqlDeadLetterStore(PersistenceHocon.Linq2DbProviderOf(persistence.Provider), PersistenceHocon.ConnectionStringOf(persistence), types);
}

/// <summary>Dead letters in table <c>ae_dead_letters</c> of the journal's database, through linq2db.</summary>
public sealed class SqlDeadLetterStore : IDeadLetterStore
{
    private readonly DataOptions _options;
    private readonly JsonSerializerOptions _json;
    private readonly bool _createsTable;

    /// <summary>Creates the store.</summary>
    public SqlDeadLetterStore(string linq2DbProvider, string connectionString, MessageTypeRegistry types)
    {
        _createsTable = linq2DbProvider.StartsWith("SQLite", StringComparison.Ordinal);
        _options = new DataOptions().UseConnectionString(linq2DbProvider, connectionString);
        _json = ActorEventsSerializer.CreateOptions(types);
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (!_createsTable)
        {
            return; // PostgreSQL: created up front with the rest of the schema (DatabaseSchema)
        }

        await using var db = new DataConnection(_options);
        await db.CreateTableAsync<DeadLetterRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        var now = DateTime.UtcNow;
        var row = new DeadLetterRow
        {
            Handler = entry.Handler,
            EventId = entry.Envelope.EventId,
            EventType = entry.Envelope.EventType,
            AggregateType = entry.Envelope.AggregateType,
            AggregateId = entry.Envelope.AggregateId,
            SequenceNr = entry.Envelope.SequenceNr,
            Envelope = JsonSerializer.Serialize(entry.Envelope, _json),
            ErrorType = entry.Error.ErrorType,
            ErrorMessage = entry.Error.Message,
            StackTrace = entry.Error.StackTrace,
            Attempts = entry.Attempts,
            FirstFailureAt = entry.FirstFailureAt.UtcDateTime,
            LastFailureAt = now,
            ParkedFollowers = "[]",
        };
        return await db.InsertWithInt64IdentityAsync(row, token: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return false;
        }

        var followers = Followers(row);
        if (followers.Any(f => f.EventId == follower.EventId))
        {
            return true;
        }

        followers.Add(follower);
        await db.GetTable<DeadLetterRow>().Where(r => r.Id == id)
            .Set(r => r.ParkedFollowers, JsonSerializer.Serialize(followers, _json))
            .UpdateAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async Task RecordFailureAsync(long id, HandlerFailure error, int attempts, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await db.GetTable<DeadLetterRow>().Where(r => r.Id == id)
            .Set(r => r.Attempts, attempts)
            .Set(r => r.ErrorType, error.ErrorType)
            .Set(r => r.ErrorMessage, error.Message)
            .Set(r => r.StackTrace, error.StackTrace)
            .Set(r => r.LastFailureAt, DateTime.UtcNow)
            .UpdateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        var query = db.GetTable<DeadLetterRow>().AsQueryable();
        if (filter.Handler is { } handler)
        {
            query = query.Where(r => r.Handler == handler);
        }

        if (filter.EventType is { } eventType)
        {
            query = query.Where(r => r.EventType == eventType);
        }

        if (filter.AggregateId is { } aggregateId)
        {
            query = query.Where(r => r.AggregateId == aggregateId);
        }

        var rows = await query.OrderBy(r => r.Id).Take(filter.Limit).ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(ToDeadLetter).ToArray();
    }

    /// <inheritdoc />
    public async Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        var row = await db.GetTable<DeadLetterRow>().FirstOrDefaultAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
        return row is null ? null : ToDeadLetter(row);
    }

    /// <inheritdoc />
    public async Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        await db.GetTable<DeadLetterRow>().Where(r => r.Id == id).DeleteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ToDeadLetter(row);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> PurgeAsync(CancellationToken cancellationToken = default)
    {
        List<long> ids;
        await using (var db = new DataConnection(_options))
        {
            ids = await db.GetTable<DeadLetterRow>().OrderBy(r => r.Id).Select(r => r.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        var taken = new List<DeadLetter>();
        foreach (var id in ids)
        {
            if (await TakeAsync(id, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                taken.Add(entry);
            }
        }

        return taken;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        var names = handlers.ToArray();
        await using var db = new DataConnection(_options);
        return await db.GetTable<DeadLetterRow>().Where(r => names.Contains(r.Handler)).OrderBy(r => r.Id)
            .Select(r => new DeadLetterKey(r.Id, r.Handler, r.AggregateType, r.AggregateId))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        var names = handlers.ToArray();
        await using var db = new DataConnection(_options);
        var entries = db.GetTable<DeadLetterRow>().Where(r => names.Contains(r.Handler));
        var count = await entries.CountAsync(cancellationToken).ConfigureAwait(false);
        var parked = count == 0 ? 0 : await entries.SumAsync(r => (long?)JsonArrayLength(r.ParkedFollowers), cancellationToken).ConfigureAwait(false) ?? 0;
        return new DeadLetterCount(count, (int)parked);
    }

    /// <summary>The length of a JSON array, computed by the database.</summary>
    [Sql.Expression(ProviderName.SQLite, "json_array_length({0})", ServerSideOnly = true)]
    [Sql.Expression(ProviderName.PostgreSQL, "json_array_length(CAST({0} AS json))", ServerSideOnly = true)]
    private static long JsonArrayLength(string json) => throw new InvalidOperationException($"{nameof(JsonArrayLength)} runs in the database only ({json.Length} characters).");

    /// <summary>
    /// Locks an entry's row for the rest of the transaction and reads it (null: no such entry). The no-op update takes
    /// the row lock on PostgreSQL — a concurrent append or take waits, then reads what this one committed — and the
    /// write lock on SQLite; so appends are never lost to each other and an append never lands in a taken entry.
    /// </summary>
    private static async Task<DeadLetterRow?> LockAsync(DataConnection db, long id, CancellationToken cancellationToken)
    {
        await db.GetTable<DeadLetterRow>().Where(r => r.Id == id).Set(r => r.Attempts, r => r.Attempts)
            .UpdateAsync(cancellationToken).ConfigureAwait(false);
        return await db.GetTable<DeadLetterRow>().FirstOrDefaultAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
    }

    private List<EventEnvelope> Followers(DeadLetterRow row) =>
        JsonSerializer.Deserialize<List<EventEnvelope>>(row.ParkedFollowers, _json) ?? [];

    private DeadLetter ToDeadLetter(DeadLetterRow row) => new(
        row.Id,
        row.Handler,
        JsonSerializer.Deserialize<EventEnvelope>(row.Envelope, _json)!,
        row.ErrorType,
        row.ErrorMessage,
        row.StackTrace,
        row.Attempts,
        new DateTimeOffset(DateTime.SpecifyKind(row.FirstFailureAt, DateTimeKind.Utc)),
        new DateTimeOffset(DateTime.SpecifyKind(row.LastFailureAt, DateTimeKind.Utc)),
        Followers(row));

    [Table("ae_dead_letters")]
    private sealed class DeadLetterRow
    {
        [PrimaryKey, Identity, Column("id")]
        public long Id { get; set; }

        [Column("handler", Length = 200), NotNull]
        public string Handler { get; set; } = string.Empty;

        [Column("event_id", Length = 64), NotNull]
        public string EventId { get; set; } = string.Empty;

        [Column("event_type", Length = 200), NotNull]
        public string EventType { get; set; } = string.Empty;

        [Column("aggregate_type", Length = 200), NotNull]
        public string AggregateType { get; set; } = string.Empty;

        [Column("aggregate_id", Length = 1024), NotNull]
        public string AggregateId { get; set; } = string.Empty;

        [Column("sequence_nr"), NotNull]
        public long SequenceNr { get; set; }

        [Column("envelope", DataType = DataType.Text), NotNull]
        public string Envelope { get; set; } = string.Empty;

        [Column("error_type", Length = 500), NotNull]
        public string ErrorType { get; set; } = string.Empty;

        [Column("error_message", DataType = DataType.Text), NotNull]
        public string ErrorMessage { get; set; } = string.Empty;

        [Column("stack_trace", DataType = DataType.Text), Nullable]
        public string? StackTrace { get; set; }

        [Column("attempts"), NotNull]
        public int Attempts { get; set; }

        [Column("first_failure_at"), NotNull]
        public DateTime FirstFailureAt { get; set; }

        [Column("last_failure_at"), NotNull]
        public DateTime LastFailureAt { get; set; }

        [Column("parked_followers", DataType = DataType.Text), NotNull]
        public string ParkedFollowers { get; set; } = "[]";
    }
}

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
            return Task.FromResult(_entries.Remove(id, out var entry) ? entry : null);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> PurgeAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var all = _entries.Values.ToArray();
            _entries.Clear();
            return Task.FromResult<IReadOnlyList<DeadLetter>>(all);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<DeadLetterKey>>(_entries.Values.Where(e => handlers.Contains(e.Handler))
                .Select(e => new DeadLetterKey(e.Id, e.Handler, e.Envelope.AggregateType, e.Envelope.AggregateId)).ToArray());
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
