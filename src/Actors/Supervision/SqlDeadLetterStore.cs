using System.Text.Json;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace ActorEvents.Actors.Supervision;

/// <summary>
/// Dead letters in table <c>ae_dead_letters</c> of the journal's database, through linq2db; the followers parked behind an
/// entry are rows of <c>ae_parked_followers</c> (one insert to park one, one delete to report one done), in the order they
/// were recorded.
/// </summary>
public sealed class SqlDeadLetterStore : IDeadLetterStore
{
    private readonly DataOptions _options;
    private readonly JsonSerializerOptions _json;
    private readonly EventUpcasters _upcasters;
    private readonly string _linq2DbProvider;
    private readonly string _connectionString;
    private readonly TimeSpan _lease;

    /// <summary>How long a resolver holds a taken entry between its reports, unless configured.</summary>
    public static readonly TimeSpan DefaultResolutionLease = TimeSpan.FromMinutes(2);

    /// <summary>Creates the store.</summary>
    /// <param name="linq2DbProvider">linq2db provider name.</param>
    /// <param name="connectionString">The journal's database.</param>
    /// <param name="types">The closed type map (envelopes are read tolerantly: an unregistered event stays readable).</param>
    /// <param name="resolutionLease">How long a resolver holds a taken entry between reports.</param>
    public SqlDeadLetterStore(string linq2DbProvider, string connectionString, MessageTypeRegistry types, TimeSpan? resolutionLease = null)
    {
        _lease = resolutionLease ?? DefaultResolutionLease;
        _linq2DbProvider = linq2DbProvider;
        _connectionString = connectionString;
        _options = new DataOptions().UseConnectionString(linq2DbProvider, connectionString);
        _json = ActorEventsSerializer.CreateOptions(types, tolerant: true);
        _upcasters = types.Upcasters;
    }

    /// <summary>Creates and upgrades the tables (<c>ae_dead_letters</c>, <c>ae_parked_followers</c>, …) through the one schema initializer.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => DatabaseSchema.EnsureTablesAsync(_linq2DbProvider, _connectionString, cancellationToken);

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
        };
        return await db.InsertWithInt64IdentityAsync(row, token: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is not { ResolvingUntil: null } row)
        {
            return false;
        }

        var eventId = follower.EventId;
        if (!await db.GetTable<ParkedFollowerRow>().AnyAsync(f => f.DeadLetterId == row.Id && f.EventId == eventId, cancellationToken).ConfigureAwait(false))
        {
            await db.InsertAsync(new ParkedFollowerRow { DeadLetterId = row.Id, EventId = eventId, Envelope = JsonSerializer.Serialize(follower, _json) },
                token: cancellationToken).ConfigureAwait(false);
        }

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
        var query = db.GetTable<DeadLetterRow>().Where(r => r.ResolvingUntil == null);
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
        var followers = await FollowersOfAsync(db, [.. rows.Select(r => r.Id)], cancellationToken).ConfigureAwait(false);
        return rows.Select(r => ToDeadLetter(r, followers[r.Id])).ToArray();
    }

    /// <inheritdoc />
    public async Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        var row = await db.GetTable<DeadLetterRow>().FirstOrDefaultAsync(r => r.Id == id && r.ResolvingUntil == null, cancellationToken).ConfigureAwait(false);
        return row is null ? null : await ReadAsync(db, row, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is not { ResolvingUntil: null } row)
        {
            return null;
        }

        var entry = await ReadAsync(db, row, cancellationToken).ConfigureAwait(false);
        if (entry.ParkedFollowers.Count == 0)
        {
            // Nothing to run (rows its upcasters drop go with it).
            await DeleteAsync(db, id, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await db.GetTable<DeadLetterRow>().Where(r => r.Id == id).Set(r => r.ResolvingUntil, DateTime.UtcNow + _lease)
                .UpdateAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <inheritdoc />
    public async Task FollowerDoneAsync(long id, string eventId, CancellationToken cancellationToken = default)
    {
        await using var db = new DataConnection(_options);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is not { ResolvingUntil: not null })
        {
            return;
        }

        var followers = db.GetTable<ParkedFollowerRow>().Where(f => f.DeadLetterId == id);
        await followers.Where(f => f.EventId == eventId).DeleteAsync(cancellationToken).ConfigureAwait(false);
        var entry = db.GetTable<DeadLetterRow>().Where(r => r.Id == id);
        if (!await followers.AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            await entry.DeleteAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await entry.Set(r => r.ResolvingUntil, DateTime.UtcNow + _lease).UpdateAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ClaimStaleResolutionsAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        var names = handlers.ToArray();
        List<long> stale;
        await using (var db = new DataConnection(_options))
        {
            var now = DateTime.UtcNow;
            stale = await db.GetTable<DeadLetterRow>().Where(r => names.Contains(r.Handler) && r.ResolvingUntil != null && r.ResolvingUntil < now)
                .OrderBy(r => r.Id).Select(r => r.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        var claimed = new List<DeadLetter>();
        foreach (var id in stale)
        {
            await using var db = new DataConnection(_options);
            await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // Claimed by whoever locks it first while it is still stale.
            if (await LockAsync(db, id, cancellationToken).ConfigureAwait(false) is { ResolvingUntil: { } until } row && until < DateTime.UtcNow)
            {
                await db.GetTable<DeadLetterRow>().Where(r => r.Id == id).Set(r => r.ResolvingUntil, DateTime.UtcNow + _lease)
                    .UpdateAsync(cancellationToken).ConfigureAwait(false);
                claimed.Add(await ReadAsync(db, row, cancellationToken).ConfigureAwait(false));
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return claimed;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> PurgeAsync(IReadOnlyCollection<string> except, CancellationToken cancellationToken = default)
    {
        List<long> ids;
        var kept = except.ToArray();
        await using (var db = new DataConnection(_options))
        {
            ids = await db.GetTable<DeadLetterRow>().Where(r => !kept.Contains(r.Handler) && r.ResolvingUntil == null).OrderBy(r => r.Id).Select(r => r.Id)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
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
        return await db.GetTable<DeadLetterRow>().Where(r => names.Contains(r.Handler) && r.ResolvingUntil == null).OrderBy(r => r.Id)
            .Select(r => new DeadLetterKey(r.Id, r.Handler, r.AggregateType, r.AggregateId, r.EventId))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        var names = handlers.ToArray();
        await using var db = new DataConnection(_options);
        var entries = db.GetTable<DeadLetterRow>().Where(r => names.Contains(r.Handler) && r.ResolvingUntil == null);
        var count = await entries.CountAsync(cancellationToken).ConfigureAwait(false);
        var parked = count == 0 ? 0 : await entries.InnerJoin(db.GetTable<ParkedFollowerRow>(), (e, f) => e.Id == f.DeadLetterId, (e, f) => f.Id)
            .CountAsync(cancellationToken).ConfigureAwait(false);
        return new DeadLetterCount(count, parked);
    }

    /// <summary>
    /// Deletes an entry inside the caller's transaction on the journal's database (a projection resolves its own entry
    /// in the transaction that applies it); false when it was gone already.
    /// </summary>
    internal static async Task<bool> DeleteAsync(DataConnection db, long id, CancellationToken cancellationToken)
    {
        await db.GetTable<ParkedFollowerRow>().Where(f => f.DeadLetterId == id).DeleteAsync(cancellationToken).ConfigureAwait(false);
        return await db.GetTable<DeadLetterRow>().Where(r => r.Id == id).DeleteAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

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

    /// <summary>The entry with its parked followers, read in the caller's connection (and transaction).</summary>
    private async Task<DeadLetter> ReadAsync(DataConnection db, DeadLetterRow row, CancellationToken cancellationToken) =>
        ToDeadLetter(row, (await FollowersOfAsync(db, [row.Id], cancellationToken).ConfigureAwait(false))[row.Id]);

    /// <summary>The stored followers of the given entries, each entry's in the order they were recorded.</summary>
    private static async Task<ILookup<long, string>> FollowersOfAsync(DataConnection db, long[] ids, CancellationToken cancellationToken)
    {
        if (ids.Length == 0)
        {
            return Array.Empty<ParkedFollowerRow>().ToLookup(f => f.DeadLetterId, f => f.Envelope);
        }

        var rows = await db.GetTable<ParkedFollowerRow>().Where(f => ids.Contains(f.DeadLetterId)).OrderBy(f => f.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToLookup(f => f.DeadLetterId, f => f.Envelope);
    }

    /// <summary>
    /// The entry in today's shape. When the upcasters make several events of its event, the first is the entry's and the
    /// others wait as its first followers (a replay runs them in order); when they make none, the entry holds an
    /// <see cref="UndecodableEvent"/> saying so, for it to be skipped.
    /// </summary>
    private DeadLetter ToDeadLetter(DeadLetterRow row, IEnumerable<string> followers)
    {
        var stored = JsonSerializer.Deserialize<EventEnvelope>(row.Envelope, _json)!;
        var events = _upcasters.Upcast(stored);
        var envelope = events.Count > 0
            ? events[0]
            : stored with { Event = new UndecodableEvent(stored.EventType, stored.SchemaVersion, "null", "its upcasters make no event of it any more: nothing to replay; skip it") };
        return new DeadLetter(
            row.Id,
            row.Handler,
            envelope,
            row.ErrorType,
            row.ErrorMessage,
            row.StackTrace,
            row.Attempts,
            new DateTimeOffset(DateTime.SpecifyKind(row.FirstFailureAt, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(row.LastFailureAt, DateTimeKind.Utc)),
            // The followers in today's shape too (one stored before an upcaster was registered is upcast as it is read).
            [.. events.Skip(1), .. followers.SelectMany(f => _upcasters.Upcast(JsonSerializer.Deserialize<EventEnvelope>(f, _json)!))]);
    }

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

        /// <summary>Set while a resolver runs the followers of the taken entry: until then it holds it.</summary>
        [Column("resolving_until"), Nullable]
        public DateTime? ResolvingUntil { get; set; }
    }

    /// <summary>A follower parked behind an entry; <see cref="Id"/> keeps the order they were recorded in.</summary>
    [Table("ae_parked_followers")]
    private sealed class ParkedFollowerRow
    {
        [PrimaryKey, Identity, Column("id")]
        public long Id { get; set; }

        [Column("dead_letter_id"), NotNull]
        public long DeadLetterId { get; set; }

        [Column("event_id"), NotNull]
        public string EventId { get; set; } = string.Empty;

        [Column("envelope", DataType = DataType.Text), NotNull]
        public string Envelope { get; set; } = string.Empty;
    }
}
