namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>What the journal's ordering numbers above a position allow a reader to take.</summary>
/// <param name="SafePosition">
/// The highest ordering up to which every number is either present or declared a permanent gap: nothing at or below it
/// can still commit, so a reader may hand out (and checkpoint) everything up to it.
/// </param>
/// <param name="DeclaredGaps">Orderings declared permanent gaps by this call (a rolled-back or abandoned write).</param>
/// <param name="OpenGap">The lowest ordering still awaited (a write that may commit late), or null.</param>
internal sealed record SafeRange(long SafePosition, IReadOnlyList<long> DeclaredGaps, long? OpenGap);

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
    private readonly Dictionary<long, DateTimeOffset> _firstSeenMissing = [];

    /// <summary>How long a missing ordering is awaited before it is declared a permanent gap.</summary>
    public TimeSpan GapTimeout { get; } = gapTimeout;

    /// <summary>Orderings currently awaited.</summary>
    public int Awaited => _firstSeenMissing.Count;

    /// <summary>
    /// Given the reader's position and the orderings present above it (ascending; possibly only the first part of them),
    /// how far it may safely read.
    /// </summary>
    public SafeRange Advance(long position, IReadOnlyList<long> present)
    {
        var now = _time.GetUtcNow();
        var safe = position;
        List<long>? declared = null;
        long? open = null;
        foreach (var ordering in present)
        {
            if (ordering <= safe)
            {
                continue;
            }

            // Every number between safe and this one is missing: each must have been awaited long enough.
            for (var missing = safe + 1; missing < ordering; missing++)
            {
                if (!_firstSeenMissing.TryGetValue(missing, out var since))
                {
                    _firstSeenMissing[missing] = now;
                    since = now;
                }

                if (now - since < GapTimeout)
                {
                    open = missing;
                    break;
                }

                (declared ??= []).Add(missing);
                safe = missing;
            }

            if (open is not null)
            {
                break;
            }

            safe = ordering;
        }

        foreach (var key in _firstSeenMissing.Keys.Where(k => k <= safe).ToArray())
        {
            _firstSeenMissing.Remove(key);
        }

        return new SafeRange(safe, declared ?? [], open);
    }

    /// <summary>Forgets what was awaited (the reader moved to another position).</summary>
    public void Reset() => _firstSeenMissing.Clear();
}
