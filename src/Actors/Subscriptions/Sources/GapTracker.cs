namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>What the journal's ordering numbers above a position allow a reader to take.</summary>
/// <param name="SafePosition">
/// The highest ordering up to which every number is either present or declared a permanent gap: nothing at or below it
/// can still commit, so a reader may hand out (and checkpoint) everything up to it.
/// </param>
/// <param name="DeclaredGaps">Orderings declared permanent gaps by this call (a rolled-back or abandoned write).</param>
/// <param name="OpenGap">The lowest ordering still awaited (a write that may commit late), or null.</param>
/// <param name="Waited">
/// How long the longest-awaited of <paramref name="DeclaredGaps"/> was awaited: the gap timeout, or less when every
/// transaction that could hold them had ended (zero when none was declared).
/// </param>
internal sealed record SafeRange(long SafePosition, IReadOnlyList<long> DeclaredGaps, long? OpenGap, TimeSpan Waited = default);

/// <summary>
/// Gap-safe reading of the journal's ordering column (a high-water mark, as Marten's async daemon keeps). Orderings are
/// taken when a row is inserted but become visible only when its transaction commits, so with several writers (several
/// transactions per node, several nodes) a higher ordering can be visible while a lower one is still in flight. A reader
/// that moved past the missing one would skip it for good. This tracker lets the reader advance only over contiguous
/// orderings; a missing one is awaited for <c>gapTimeout</c> from when it was first seen, and only then declared a
/// permanent gap (reported once, so it can be counted and logged).
/// </summary>
internal sealed class GapTracker(TimeSpan gapTimeout, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<long, Missing> _firstSeenMissing = [];
    private readonly SortedSet<long> _declaredNotHandedOut = [];

    /// <summary>How long a missing ordering is awaited before it is declared a permanent gap.</summary>
    public TimeSpan GapTimeout { get; } = gapTimeout;

    /// <summary>Orderings currently awaited.</summary>
    public int Awaited => _firstSeenMissing.Count;

    /// <summary>
    /// Given the reader's position and the orderings present above it (ascending; possibly only the first part of them),
    /// how far it may safely read. Every missing ordering in the window is timed from when it was first seen, so several
    /// gaps age together.
    /// </summary>
    /// <param name="position">The reader's position.</param>
    /// <param name="present">The orderings present above it.</param>
    /// <param name="transactions">
    /// PostgreSQL: the transaction horizon now (see <see cref="TransactionHorizon"/>); a missing ordering first seen when
    /// the next transaction id was X is permanent once every transaction below X has ended. Null where the database
    /// cannot tell (then only the gap timeout declares gaps).
    /// </param>
    public SafeRange Advance(long position, IReadOnlyList<long> present, TransactionHorizon? transactions = null)
    {
        var now = _time.GetUtcNow();
        _declaredNotHandedOut.RemoveWhere(ordering => ordering <= position);
        var safe = position;
        List<long>? declared = null;
        var waited = TimeSpan.Zero;
        long? open = null;
        var previous = position;
        foreach (var ordering in present)
        {
            if (ordering <= previous)
            {
                continue;
            }

            for (var missing = previous + 1; missing < ordering; missing++)
            {
                if (!_firstSeenMissing.TryGetValue(missing, out var seen))
                {
                    seen = new Missing(now, transactions?.NextTransactionId);
                    _firstSeenMissing[missing] = seen;
                }

                if (open is null && (_declaredNotHandedOut.Contains(missing) || IsPermanent(seen, now, transactions)))
                {
                    (declared ??= []).Add(missing);
                    waited = now - seen.Since > waited ? now - seen.Since : waited;
                    safe = missing;
                }
                else
                {
                    open ??= missing;
                }
            }

            previous = ordering;
            if (open is null)
            {
                safe = ordering;
            }
        }

        foreach (var key in _firstSeenMissing.Keys.Where(k => k <= safe).ToArray())
        {
            _firstSeenMissing.Remove(key);
        }

        return new SafeRange(safe, declared ?? [], open, waited);
    }

    /// <summary>
    /// A missing ordering can no longer commit once every transaction that could hold it has ended (it was taken before
    /// it was seen missing, so by a transaction with an id below the next id of that moment), after a short grace for a
    /// statement that took its number before its transaction id; or, whatever the database says, after the gap timeout.
    /// </summary>
    private bool IsPermanent(Missing seen, DateTimeOffset now, TransactionHorizon? transactions) =>
        now - seen.Since >= GapTimeout
        || (seen.NextTransactionId is { } next && transactions is { } current && current.OldestRunningTransactionId >= next
            && now - seen.Since >= EndedTransactionGrace);

    /// <summary>How long a gap whose transactions all ended is still awaited.</summary>
    public static readonly TimeSpan EndedTransactionGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Orderings <see cref="Advance"/> declared permanent that the reader could not hand out yet (its page of rows ended
    /// below them): they stay declared, so the next call declares them again at once instead of awaiting them anew.
    /// </summary>
    public void NotHandedOut(IEnumerable<long> declared) => _declaredNotHandedOut.UnionWith(declared);

    /// <summary>Forgets what was awaited (the reader moved to another position).</summary>
    public void Reset()
    {
        _firstSeenMissing.Clear();
        _declaredNotHandedOut.Clear();
    }

    private sealed record Missing(DateTimeOffset Since, long? NextTransactionId);
}

/// <summary>PostgreSQL's transaction horizon at one moment.</summary>
/// <param name="OldestRunningTransactionId">The xmin of <c>pg_current_snapshot()</c>: every transaction below it has ended.</param>
/// <param name="NextTransactionId">
/// An id assigned now (<c>pg_current_xact_id()</c> of the reading statement): every transaction that exists now has an id
/// below it. (Not the snapshot's xmax, which is one past the highest <em>completed</em> id.)
/// </param>
internal sealed record TransactionHorizon(long OldestRunningTransactionId, long NextTransactionId);
