using Akka.Actor;
using ActorEvents.Actors.Subscriptions.Sources;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>How often a node read the journal for its subscriptions since it started (counters for tests and the bench).</summary>
/// <param name="HeadQueries">Reads of the journal's head (<c>MAX(ordering)</c>) by the node's shared head watch.</param>
/// <param name="SourceReads">
/// Reads of the subscriptions' sources. Each is one query of the orderings above the stream's position, then one of the
/// events up to the safe position when there are any, and on PostgreSQL one of the transaction horizon while a gap is open.
/// </param>
/// <param name="CommitNotices">Commits the node's group-commit journal writer reported to the head watch (no query).</param>
public sealed record JournalReadStats(long HeadQueries, long SourceReads, long CommitNotices)
{
    /// <summary>The counters of <paramref name="system"/>'s node.</summary>
    public static JournalReadStats Of(ActorSystem system) => JournalHeadWatch.Get(system).Stats;

    /// <summary>The journal reads of both kinds.</summary>
    public long Reads => HeadQueries + SourceReads;
}
