using ActorEvents.Actors.Subscriptions.Sources;
using Akka.Actor;
using Akka.Event;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Keeps <c>ae_processed_events</c> from growing forever. A row is needed while its event can still come again without
/// an operator asking for it — until the checkpoint of its handler's subscription has passed the event — and it is kept
/// <see cref="Configuration.SubscriptionsOptions.ProcessedEventRetention"/> longer. Deleted, in batches, are the rows
/// older than the retention whose event has no open dead letter (of any handler) and that are:
/// <list type="bullet">
/// <item>of a journal event whose ordering is at or behind the checkpoint of the subscription that feeds the row's handler
/// (a subscription without a stored checkpoint keeps every row);</item>
/// <item>of a follow-up event (not in the journal) whose parent event has no row left: only a parent's row can dispatch
/// a follow-up again under the same id, so the follow-up's row goes once no parent row is left to ask for it;</item>
/// <item>by age alone: rows written before rows were linked to the journal, rows of an event no longer in the journal,
/// and rows of a handler no subscription feeds any more (renamed or removed).</item>
/// </list>
/// </summary>
public sealed class ProcessedEventPruner
{
    /// <summary>Rows deleted per statement.</summary>
    public const int DefaultBatchSize = 1000;

    private readonly ActorEventsDatabase _database;
    private readonly IReadOnlyList<(string Subscription, string[] Handlers)> _subscriptions;
    private readonly string[] _fedHandlers;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly int _batchSize;

    /// <summary>Creates the pruner.</summary>
    /// <param name="database">The journal's database.</param>
    /// <param name="subscriptions">The domain's subscriptions (which one feeds which handler).</param>
    /// <param name="retention">How long a row is kept at least.</param>
    /// <param name="time">The clock the retention is measured with (default: the system's).</param>
    /// <param name="batchSize">Rows deleted per statement.</param>
    public ProcessedEventPruner(ActorEventsDatabase database, IReadOnlyList<SubscriptionDefinition> subscriptions, TimeSpan retention,
        TimeProvider? time = null, int batchSize = DefaultBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retention, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _database = database;
        _subscriptions = subscriptions.Where(s => s.Kind == Messages.SubscriptionKind.Handlers)
            .Select(s => (s.Name, s.Handlers.Handlers.Select(h => h.Name).ToArray())).ToArray();
        _fedHandlers = _subscriptions.SelectMany(s => s.Handlers).ToArray();
        _retention = retention;
        _time = time ?? TimeProvider.System;
        _batchSize = batchSize;
    }

    /// <summary>Deletes every row that may go; returns how many it deleted.</summary>
    public async Task<long> PruneAsync(CancellationToken cancellationToken = default)
    {
        if (!_database.IsAvailable)
        {
            return 0;
        }

        var cutoff = _time.GetUtcNow().UtcDateTime - _retention;
        await using var db = _database.Open();
        long deleted = 0;
        foreach (var (subscription, handlers) in _subscriptions)
        {
            deleted += await DeleteAsync(db, BehindCheckpoint(db, cutoff, subscription, handlers), cancellationToken).ConfigureAwait(false);
        }

        deleted += await DeleteAsync(db, ByAgeAlone(db, cutoff), cancellationToken).ConfigureAwait(false);
        // Last, so that the follow-ups of the parents deleted above go in the same pass.
        deleted += await DeleteAsync(db, OrphanedFollowUps(db, cutoff), cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>Rows older than the cutoff whose event no dead letter holds.</summary>
    private static IQueryable<ProcessedEventRow> Old(DataConnection db, DateTime cutoff) =>
        db.GetTable<ProcessedEventRow>().Where(r => r.ProcessedAt < cutoff && !db.GetTable<DeadLetterEventRow>().Any(d => d.EventId == r.EventId));

    private static IQueryable<ProcessedEventRow> BehindCheckpoint(DataConnection db, DateTime cutoff, string subscription, string[] handlers)
    {
        var checkpoint = db.GetTable<CheckpointStore.CheckpointRow>().Where(c => c.Subscription == subscription);
        return Old(db, cutoff).Where(r => handlers.Contains(r.Handler) && r.SequenceNr > 0 && db.GetTable<JournalTableRow>().Any(j =>
            j.PersistenceId == r.PersistenceId && j.SequenceNumber == r.SequenceNr && checkpoint.Any(c => c.Position >= j.Ordering)));
    }

    private IQueryable<ProcessedEventRow> ByAgeAlone(DataConnection db, DateTime cutoff)
    {
        var fed = _fedHandlers;
        return Old(db, cutoff).Where(r => r.SequenceNr == null || r.SequenceNr > 0 && (!fed.Contains(r.Handler)
            || !db.GetTable<JournalTableRow>().Any(j => j.PersistenceId == r.PersistenceId && j.SequenceNumber == r.SequenceNr)));
    }

    private static IQueryable<ProcessedEventRow> OrphanedFollowUps(DataConnection db, DateTime cutoff) =>
        Old(db, cutoff).Where(r => r.SequenceNr == 0 && !db.GetTable<ProcessedEventRow>().Any(parent => parent.EventId == r.CausationId));

    /// <summary>
    /// Deletes what <paramref name="prunable"/> selects, a batch at a time: the keys of a batch are read, then deleted
    /// by key with the same conditions checked again, so a row that stopped being prunable in between stays.
    /// </summary>
    private async Task<long> DeleteAsync(DataConnection db, IQueryable<ProcessedEventRow> prunable, CancellationToken cancellationToken)
    {
        long deleted = 0;
        while (true)
        {
            var batch = await prunable.Select(r => new { r.Handler, r.EventId }).Take(_batchSize).ToListAsync(cancellationToken).ConfigureAwait(false);
            var deletedNow = 0;
            foreach (var handler in batch.GroupBy(k => k.Handler))
            {
                var (name, eventIds) = (handler.Key, handler.Select(k => k.EventId).ToArray());
                deletedNow += await prunable.Where(r => r.Handler == name && eventIds.Contains(r.EventId)).DeleteAsync(cancellationToken).ConfigureAwait(false);
            }

            deleted += deletedNow;
            if (batch.Count < _batchSize || deletedNow == 0)
            {
                return deleted;
            }
        }
    }

    /// <summary>The one column of <c>ae_dead_letters</c> the pruner looks at.</summary>
    [Table("ae_dead_letters")]
    private sealed class DeadLetterEventRow
    {
        [Column("event_id"), NotNull]
        public string EventId { get; set; } = string.Empty;
    }
}

/// <summary>
/// Runs the <see cref="ProcessedEventPruner"/> every <c>Subscriptions:ProcessedEventPruneInterval</c> (one pass at a
/// time; a failed pass is logged and the next one tries again). The hosting wiring starts it as a cluster singleton on
/// the nodes that host subscriptions, so one node prunes.
/// </summary>
internal sealed class ProcessedEventPrunerActor : ReceiveActor, IWithTimers
{
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _pruning;

    /// <summary>Creates the actor.</summary>
    public ProcessedEventPrunerActor(ProcessedEventPruner pruner, TimeSpan interval)
    {
        _interval = interval;
        Receive<PruneDue>(_ =>
        {
            if (_pruning)
            {
                return;
            }

            _pruning = true;
            pruner.PruneAsync().PipeTo(Self, success: deleted => new Pruned(deleted, null), failure: error => new Pruned(0, error));
        });
        Receive<Pruned>(pruned =>
        {
            _pruning = false;
            if (pruned.Error is { } error)
            {
                _log.Warning("Pruning ae_processed_events failed ({0}: {1}); trying again in {2}", error.GetBaseException().GetType().Name,
                    error.GetBaseException().Message, _interval);
            }
            else if (pruned.Deleted > 0)
            {
                _log.Info("Pruned {0} row(s) of ae_processed_events", pruned.Deleted);
            }
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the actor.</summary>
    public static Props Props(ProcessedEventPruner pruner, TimeSpan interval) => Akka.Actor.Props.Create(() => new ProcessedEventPrunerActor(pruner, interval));

    /// <inheritdoc />
    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(PruneDue), new PruneDue(), _interval);

    private sealed record PruneDue;

    private sealed record Pruned(long Deleted, Exception? Error);
}
