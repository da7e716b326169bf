
namespace ActorEvents.Actors.Persistence;

/// <summary>Inserts the rows of many journal writes in one database transaction.</summary>
internal interface IJournalRowWriter : IAsyncDisposable
{
    /// <summary>
    /// Inserts every row of <paramref name="writes"/> and their tag rows, all or nothing. Throws
    /// <see cref="JournalWriteExpiredException"/> when the transaction could not begin (or its statement was cancelled)
    /// by <paramref name="deadline"/>, <see cref="JournalCommitUncertainException"/> when the batch was sent and its
    /// commit may or may not have happened, and any other exception when the transaction rolled back.
    /// </summary>
    /// <returns>The highest ordering the committed batch took (the journal's head as this write left it, at least).</returns>
    Task<long> InsertAsync(IReadOnlyList<JournalWrite> writes, DateTimeOffset deadline, CancellationToken cancellationToken);
}
