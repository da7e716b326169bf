using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>A subscription's stored checkpoint.</summary>
/// <param name="Subscription">Subscription name.</param>
/// <param name="Position">Journal ordering of the last event whose processing is committed (0: none yet).</param>
/// <param name="Paused">Whether an operator paused it.</param>
/// <param name="UpdatedAt">When the row last changed (UTC).</param>
public sealed record Checkpoint(string Subscription, long Position, bool Paused, DateTime UpdatedAt);

/// <summary>
/// Checkpoints in table <c>ae_checkpoints</c> of the journal's database, through linq2db. Every advance names the
/// position it expects to replace, so an instance that lost its singleton role (a node that was thought dead) can
/// never move a checkpoint the new instance already moved: its write matches no row.
/// </summary>
public sealed class CheckpointStore(ActorEventsDatabase database)
{
    /// <summary>The stored checkpoint of a subscription, or null when it never ran.</summary>
    public async Task<Checkpoint?> FindAsync(string subscription, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        var row = await db.GetTable<CheckpointRow>().FirstOrDefaultAsync(r => r.Subscription == subscription, cancellationToken).ConfigureAwait(false);
        return row?.ToCheckpoint();
    }

    /// <summary>The checkpoint of a subscription; a new subscription gets one at position 0.</summary>
    public async Task<Checkpoint> LoadAsync(string subscription, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        for (var attempt = 0; ; attempt++)
        {
            var row = await db.GetTable<CheckpointRow>().FirstOrDefaultAsync(r => r.Subscription == subscription, cancellationToken).ConfigureAwait(false);
            if (row is not null)
            {
                return row.ToCheckpoint();
            }

            try
            {
                await db.InsertAsync(new CheckpointRow { Subscription = subscription, UpdatedAt = DateTime.UtcNow }, token: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (attempt == 0)
            {
                // Another instance inserted it first: read theirs.
            }
        }
    }

    /// <summary>Every stored checkpoint.</summary>
    public async Task<IReadOnlyList<Checkpoint>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        var rows = await db.GetTable<CheckpointRow>().OrderBy(r => r.Subscription).ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(r => r.ToCheckpoint()).ToArray();
    }

    /// <summary>Moves a checkpoint from <paramref name="expected"/> to <paramref name="position"/>; false when it is not at <paramref name="expected"/> any more.</summary>
    public async Task<bool> AdvanceAsync(string subscription, long expected, long position, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        return await AdvanceAsync(db, subscription, expected, position, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same, on a connection (inside a projection's transaction, it also locks the row until commit).</summary>
    public static async Task<bool> AdvanceAsync(DataConnection db, string subscription, long expected, long position, CancellationToken cancellationToken = default) =>
        await db.GetTable<CheckpointRow>()
            .Where(r => r.Subscription == subscription && r.Position == expected)
            .Set(r => r.Position, position)
            .Set(r => r.UpdatedAt, DateTime.UtcNow)
            .UpdateAsync(cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>Sets a checkpoint whatever it was (an operator's reset).</summary>
    public static async Task MoveAsync(DataConnection db, string subscription, long position, CancellationToken cancellationToken = default) =>
        await db.GetTable<CheckpointRow>()
            .Where(r => r.Subscription == subscription)
            .Set(r => r.Position, position)
            .Set(r => r.UpdatedAt, DateTime.UtcNow)
            .UpdateAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Sets a checkpoint whatever it was (an operator's reset).</summary>
    public async Task MoveAsync(string subscription, long position, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        await MoveAsync(db, subscription, position, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records whether a subscription is paused.</summary>
    public async Task SetPausedAsync(string subscription, bool paused, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        await db.GetTable<CheckpointRow>()
            .Where(r => r.Subscription == subscription)
            .Set(r => r.Paused, paused)
            .Set(r => r.UpdatedAt, DateTime.UtcNow)
            .UpdateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A row of <c>ae_checkpoints</c>.</summary>
    [Table("ae_checkpoints")]
    internal sealed class CheckpointRow
    {
        [PrimaryKey, Column("subscription", Length = 200), NotNull]
        public string Subscription { get; set; } = string.Empty;

        [Column("position"), NotNull]
        public long Position { get; set; }

        [Column("paused"), NotNull]
        public bool Paused { get; set; }

        [Column("updated_at"), NotNull]
        public DateTime UpdatedAt { get; set; }

        public Checkpoint ToCheckpoint() => new(Subscription, Position, Paused, DateTime.SpecifyKind(UpdatedAt, DateTimeKind.Utc));
    }
}

/// <summary>
/// One row of <c>ae_processed_events</c>: the handler finished this event (its effects committed with this row), and how
/// many times the event came again and was skipped.
/// </summary>
[Table("ae_processed_events")]
internal sealed class ProcessedEventRow
{
    [PrimaryKey(0), Column("handler", Length = 200), NotNull]
    public string Handler { get; set; } = string.Empty;

    [PrimaryKey(1), Column("event_id", Length = 64), NotNull]
    public string EventId { get; set; } = string.Empty;

    [Column("processed_at"), NotNull]
    public DateTime ProcessedAt { get; set; }

    [Column("redeliveries"), NotNull]
    public int Redeliveries { get; set; }

    /// <summary>The event's stream (the journal's persistence id); null in rows written before it was recorded.</summary>
    [Column("persistence_id", DataType = DataType.Text), Nullable]
    public string? PersistenceId { get; set; }

    /// <summary>
    /// The event's sequence number in its stream, which with <see cref="PersistenceId"/> finds its journal row (and ordering);
    /// 0 for a follow-up event, which is not in the journal; null in rows written before it was recorded.
    /// </summary>
    [Column("sequence_nr"), Nullable]
    public long? SequenceNr { get; set; }

    /// <summary>The event's causation id: for a follow-up event, the id of the event whose handler emitted it.</summary>
    [Column("causation_id", DataType = DataType.Text), Nullable]
    public string? CausationId { get; set; }

    /// <summary>The follow-up events the handler emitted (JSON of <see cref="Pipeline.FollowUpEvent"/>s; null: none), dispatched again on a redelivery.</summary>
    [Column("follow_ups", DataType = DataType.Text), Nullable]
    public string? FollowUps { get; set; }
}
