using LinqToDB;
using LinqToDB.Async;
using ActorEvents.Actors.Subscriptions.Sources;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>How far a subscription is behind its source.</summary>
/// <param name="Head">Ordering of the newest event of the source.</param>
/// <param name="Events">Events of the source after the checkpoint.</param>
/// <param name="Seconds">Age of the oldest of those events, in seconds (0 when there are none).</param>
public sealed record JournalLag(long Head, long Events, double Seconds);

/// <summary>
/// Reads the head of a subscription's source and its lag straight from Akka.Persistence.Sql's tables (<c>journal</c>,
/// <c>tags</c>; the default names the generated HOCON uses): for a tag from the tag table, for all events from the journal.
/// </summary>
public sealed class JournalHead(ActorEventsDatabase database)
{
    /// <summary>Head and lag of a source (a tag, or null for all events) behind <paramref name="position"/>.</summary>
    public async Task<JournalLag> LagAsync(string? tag, long position, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        var journal = db.GetTable<JournalTableRow>().Where(r => !r.Deleted);
        IQueryable<long> orderings = tag is null
            ? journal.Select(r => r.Ordering)
            : db.GetTable<TagTableRow>().Where(t => t.Tag == tag).Select(t => t.OrderingId);
        var head = await orderings.MaxAsync(o => (long?)o, cancellationToken).ConfigureAwait(false) ?? 0;
        if (head <= position)
        {
            return new JournalLag(head, 0, 0);
        }

        var behind = orderings.Where(o => o > position);
        var events = await behind.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var oldest = await behind.MinAsync(o => (long?)o, cancellationToken).ConfigureAwait(false);
        var created = oldest is { } ordering
            ? await journal.Where(r => r.Ordering == ordering).Select(r => (long?)r.Created).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false)
            : null;
        // The plugin stores the write time as UTC ticks.
        var seconds = created is { } ticks && ticks > 0 ? Math.Max(0, (DateTime.UtcNow.Ticks - ticks) / (double)TimeSpan.TicksPerSecond) : 0;
        return new JournalLag(head, events, seconds);
    }

    /// <summary>The highest ordering in the journal (0 when it is empty).</summary>
    public async Task<long> JournalHeadAsync(CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        return await db.GetTable<JournalTableRow>().MaxAsync(r => (long?)r.Ordering, cancellationToken).ConfigureAwait(false) ?? 0;
    }
}
