using Akka.Actor;
using Akka;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>
/// Marks the place of orderings that never committed (declared permanent gaps): handed to the subscription as an
/// element of its stream, so it counts and logs them and moves its position over them.
/// </summary>
/// <param name="Orderings">The orderings declared gaps.</param>
/// <param name="Waited">How long the longest-awaited of them was awaited (at most the gap timeout: less when their transactions had all ended).</param>
internal sealed record SkippedJournalGap(IReadOnlyList<long> Orderings, TimeSpan Waited);

/// <summary>
/// The journal as a live source for a subscription (one tag, or every event), read straight from Akka.Persistence.Sql's
/// tables and gap-safe: it hands out events only up to the <see cref="GapTracker">safe position</see>, so an event whose
/// transaction commits late (a slower writer, another node) is never skipped; an ordering still missing after the gap
/// timeout is declared a permanent gap (a rolled-back write) and reported as a <see cref="SkippedJournalGap"/> element.
/// A row that cannot be decoded is handed out as an envelope holding an <see cref="Messages.UndecodableEvent"/>
/// (<see cref="JournalRowDecoder"/>), for the sink to dead-letter.
/// </summary>
internal sealed class GapSafeJournalSource(ActorEventsDatabase database, JournalHeadWatch heads, JournalRowDecoder decoder, string? tag,
    TimeSpan gapTimeout, TimeSpan pollInterval, ILoggingAdapter log)
{
    /// <summary>Orderings read per look at the journal's order.</summary>
    private const int ScanSize = 10_000;

    /// <summary>Events read per query unless a stream asks for more.</summary>
    public const int DefaultPageSize = 500;

    /// <summary>How long the tail waits for a node-wide read of the source before the stream fails (and restarts).</summary>
    private static readonly TimeSpan TailTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Whether a gap may be judged by PostgreSQL's transaction horizon (see <see cref="SubscriptionRuntime.TrustTransactionHorizon"/>).</summary>
    public bool TrustTransactionHorizon { get; init; } = true;

    /// <summary>The tag it reads (null: every event).</summary>
    public string? Tag => tag;

    /// <summary>How long a missing ordering is awaited.</summary>
    public TimeSpan GapTimeout => gapTimeout;

    /// <summary>A live stream of the source from <paramref name="position"/> (exclusive), <paramref name="pageSize"/> events per read.</summary>
    public Source<EventEnvelope, NotUsed> From(long position, int pageSize)
    {
        var tracker = new GapTracker(gapTimeout);
        // One read per pull, and only when the journal may hold something new for it: the node's JournalHeadWatch tells
        // when the head moved past the position, so an idle stream does not query (see JournalSourceCursor). A stopped
        // stream closes its cursor, which ends its wait.
        return Source.UnfoldResourceAsync<IReadOnlyList<EventEnvelope>, JournalSourceCursor>(
            () => Task.FromResult(heads.OpenCursor(database, position, pollInterval)),
            async cursor =>
            {
                if (!await cursor.WaitForNewOrderingsAsync().ConfigureAwait(false))
                {
                    return Akka.Util.Option<IReadOnlyList<EventEnvelope>>.None;
                }

                // A caught-up stream is served by the node's tail of this source (one journal read for all of them); one that
                // is catching up reads the journal itself.
                var shared = heads.Shared
                    ? (await heads.Tails.Ask<TailPage>(new ReadTail(this, cursor.Position, pageSize), TailTimeout).ConfigureAwait(false)).Events
                    : null;
                var page = shared ?? await ReadAsync(tracker, cursor.Position, pageSize).ConfigureAwait(false);
                cursor.Read(page);
                return Akka.Util.Option<IReadOnlyList<EventEnvelope>>.Create(page);
            },
            cursor =>
            {
                cursor.Dispose();
                return Task.FromResult(Done.Instance);
            }).SelectMany(page => page);
    }

    /// <summary>The next events after <paramref name="position"/> that are safe to hand out (empty: nothing new yet).</summary>
    internal async Task<IReadOnlyList<EventEnvelope>> ReadAsync(GapTracker tracker, long position, int pageSize)
    {
        heads.CountSourceRead();
        await using var db = database.Open();
        var journal = db.GetTable<JournalTableRow>();
        var present = await journal.Where(r => r.Ordering > position).OrderBy(r => r.Ordering).Select(r => r.Ordering).Take(ScanSize)
            .ToListAsync().ConfigureAwait(false);
        var range = tracker.Advance(position, present, await HorizonAsync(db, present, position).ConfigureAwait(false));
        var result = new List<EventEnvelope>();
        // A declared gap raises the safe position: nothing above the position is safe, nothing is declared.
        if (range.SafePosition <= position)
        {
            return result;
        }

        var safe = range.SafePosition;
        var rows = tag is null
            ? journal.Where(r => r.Ordering > position && r.Ordering <= safe && !r.Deleted)
            : from r in journal
              join t in db.GetTable<TagTableRow>() on r.Ordering equals t.OrderingId
              where t.Tag == tag && r.Ordering > position && r.Ordering <= safe && !r.Deleted
              select r;
        var read = await rows.OrderBy(r => r.Ordering).Take(pageSize).ToListAsync().ConfigureAwait(false);
        foreach (var row in read)
        {
            result.Add(new EventEnvelope(Offset.Sequence(row.Ordering), row.PersistenceId, row.SequenceNumber, Decode(row), row.Created,
                tag is null ? [] : [tag]));
        }

        // A full page ends at its last row: the rows between it and the safe position are not read yet, so a gap declared
        // above it is not handed out now (its marker would move the position over them); the tracker keeps it declared.
        var full = read.Count == pageSize;
        var handedOut = full ? range.DeclaredGaps.Where(g => g < read[^1].Ordering).ToArray() : range.DeclaredGaps;
        if (handedOut.Count < range.DeclaredGaps.Count)
        {
            tracker.NotHandedOut(range.DeclaredGaps.Skip(handedOut.Count));
        }

        if (handedOut.Count > 0)
        {
            log.Warning("Journal orderings {0} never committed: declared permanent gaps (rolled-back writes) after {1:0.###} s and passed over "
                + "({2}; gap timeout {3:0.###} s)",
                string.Join(", ", handedOut), range.Waited.TotalSeconds,
                range.Waited >= tracker.GapTimeout ? "the gap timeout passed" : "every transaction that could hold them had ended", tracker.GapTimeout.TotalSeconds);
            result.Add(new EventEnvelope(Offset.Sequence(handedOut[^1]), string.Empty, 0,
                new SkippedJournalGap(handedOut, range.Waited), 0, []));
        }

        var declaredGapAhead = handedOut.Count > 0;

        // Nothing of the source up to the safe position after the last row read: the position may move to it.
        if (!full && (result.Count == 0 || result.Max(OffsetOf) < safe))
        {
            result.Add(new EventEnvelope(Offset.Sequence(safe), string.Empty, 0, SourcePassedOver.Instance, 0, []));
        }

        // In journal order: the gap marker moves a subscription's position to the last declared gap, so it must come
        // after every row below that gap (a batch that ended at the marker would otherwise pass over those rows).
        return result.Count > 1 && declaredGapAhead ? result.OrderBy(OffsetOf).ToList() : result;
    }

    /// <summary>PostgreSQL's transaction horizon, read only when there is a gap to judge (null on SQLite: one writer, no gaps in flight).</summary>
    private async Task<TransactionHorizon?> HorizonAsync(DataConnection db, List<long> present, long position)
    {
        if (!database.HasTransactionHorizon || !TrustTransactionHorizon || present.Count == 0 || present[^1] - position == present.Count)
        {
            return null;
        }

        // The next id is a fresh one of this read's own (one per read that sees a gap): every running transaction, the one
        // holding a missing ordering included, has a lower id. The snapshot's xmax would not do: it is one past the highest
        // completed id, and a transaction that took its id after one that committed above it can be running with a higher id.
        var horizon = await db.QueryToListAsync<HorizonRow>(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS oldest, pg_current_xact_id()::text::bigint AS next")
            .ConfigureAwait(false);
        return horizon.Count == 1 ? new TransactionHorizon(horizon[0].Oldest, horizon[0].Next) : null;
    }

    private sealed class HorizonRow
    {
        [Column("oldest")]
        public long Oldest { get; set; }

        [Column("next")]
        public long Next { get; set; }
    }

    private object Decode(JournalTableRow row) => decoder.Decode(row);

    /// <summary>The journal ordering of an element this source hands out.</summary>
    internal static long OffsetOf(EventEnvelope element) => ((Sequence)element.Offset).Value;
}

/// <summary>The source read up to this ordering and found nothing more of its own: the position may move here.</summary>
internal sealed record SourcePassedOver
{
    public static readonly SourcePassedOver Instance = new();
}
