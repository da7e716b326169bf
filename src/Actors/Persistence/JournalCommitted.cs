namespace ActorEvents.Actors.Persistence;

/// <summary>
/// Published on the actor system's event stream by <see cref="GroupCommitSqlJournal"/> after each committed transaction,
/// so whoever follows the journal (the subscriptions' head watch) learns of local writes at once, without a query and
/// without the journal knowing who listens.
/// </summary>
/// <param name="HighestOrdering">The transaction's highest ordering; null when it is not known (look it up).</param>
internal sealed record JournalCommitted(long? HighestOrdering);
