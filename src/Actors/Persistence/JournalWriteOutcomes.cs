namespace ActorEvents.Actors.Persistence;

/// <summary>
/// The journal did not write the events and never will: the write was refused before it reached the database, or
/// its transaction rolled back. A reply built on it may say "nothing was persisted".
/// </summary>
public abstract class JournalWriteNotWrittenException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected JournalWriteNotWrittenException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The journal's write queue was full (<c>buffer-size</c>): the write was refused at once, nothing was written. The
/// group-commit journal reports it as a rejection, so it does not count as a failure of the journal's circuit breaker.
/// </summary>
public sealed class JournalOverloadedException(string message) : JournalWriteNotWrittenException(message);

/// <summary>
/// The write did not begin its transaction within the journal's <c>write-timeout</c> (it waited in the queue, or for the
/// database's write lock): it was taken out of the queue and not written. Reported as a rejection (not a breaker failure):
/// a stall is not an outage.
/// </summary>
public sealed class JournalWriteExpiredException(string message, Exception? inner = null) : JournalWriteNotWrittenException(message, inner);

/// <summary>The write's transaction failed and rolled back (the database reported an error before the commit): nothing was written.</summary>
public sealed class JournalWriteRolledBackException(string message, Exception inner) : JournalWriteNotWrittenException(message, inner);

/// <summary>
/// The journal cannot tell whether the write committed: the connection was lost around the commit and the outcome
/// could not be read back within the journal's <c>commit-resolution-timeout</c>. The events may be in the journal.
/// </summary>
public sealed class JournalWriteOutcomeUnknownException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Thrown by a row writer when a batch was sent and its commit may or may not have happened. <see cref="Resolve"/>
/// reads the outcome back: true when the batch is in the journal, false when it is not and can no longer commit; it
/// throws while the database cannot tell yet.
/// </summary>
internal sealed class JournalCommitUncertainException(Exception cause, Func<CancellationToken, Task<bool>> resolve)
    : Exception($"The commit's outcome is uncertain: {cause.Message}", cause)
{
    /// <summary>Reads the outcome back.</summary>
    public Func<CancellationToken, Task<bool>> Resolve { get; } = resolve;
}
