namespace ActorEvents.Messages;

/// <summary>
/// An (event, handler) pair that failed for good, with everything needed to understand and replay it.
/// Kept in the durable dead-letter store (same database as the journal).
/// </summary>
/// <param name="Id">Store id.</param>
/// <param name="Handler">Name of the handler that failed.</param>
/// <param name="Envelope">The event that failed.</param>
/// <param name="ErrorType">CLR type name of the last exception.</param>
/// <param name="ErrorMessage">Message of the last exception.</param>
/// <param name="StackTrace">Stack trace of the last exception.</param>
/// <param name="Attempts">How many times the handler ran for this event in total.</param>
/// <param name="FirstFailureAt">When it first failed.</param>
/// <param name="LastFailureAt">When it last failed.</param>
/// <param name="ParkedFollowers">Later events of the same aggregate for the same handler, waiting behind this one, in order.</param>
public sealed record DeadLetter(
    long Id,
    string Handler,
    EventEnvelope Envelope,
    string ErrorType,
    string ErrorMessage,
    string? StackTrace,
    int Attempts,
    DateTimeOffset FirstFailureAt,
    DateTimeOffset LastFailureAt,
    IReadOnlyList<EventEnvelope> ParkedFollowers);

/// <summary>Filters of a dead-letter listing; null fields match everything.</summary>
/// <param name="Handler">Only this handler.</param>
/// <param name="EventType">Only this stable event type.</param>
/// <param name="AggregateId">Only this aggregate id.</param>
/// <param name="Limit">At most this many entries, oldest first.</param>
public sealed record DeadLetterFilter(string? Handler = null, string? EventType = null, string? AggregateId = null, int Limit = 1000);

/// <summary>Lists dead letters. Reply: <see cref="DeadLetterList"/>.</summary>
/// <param name="Filter">Which entries.</param>
public sealed record ListDeadLetters(DeadLetterFilter Filter);

/// <summary>Dead letters matching a filter, oldest first.</summary>
/// <param name="Entries">The entries.</param>
public sealed record DeadLetterList(IReadOnlyList<DeadLetter> Entries);

/// <summary>Shows one dead letter. Reply: <see cref="DeadLetterFound"/> or <see cref="DeadLetterOperationFailed"/>.</summary>
/// <param name="Id">Store id.</param>
public sealed record InspectDeadLetter(long Id);

/// <summary>One dead letter.</summary>
/// <param name="Entry">The entry.</param>
public sealed record DeadLetterFound(DeadLetter Entry);

/// <summary>
/// Runs the failed handler again under its retry policy. Success removes the entry and releases its parked
/// followers in order; failure keeps it with its attempt count raised. Reply: <see cref="DeadLetterReplayed"/>
/// or <see cref="DeadLetterOperationFailed"/>.
/// </summary>
/// <param name="Id">Store id.</param>
public sealed record ReplayDeadLetter(long Id);

/// <summary>Replays every dead letter of one handler, oldest first. Reply: <see cref="DeadLettersReplayed"/>.</summary>
/// <param name="Handler">Handler name.</param>
public sealed record ReplayAllDeadLetters(string Handler);

/// <summary>Removes a dead letter without running it and releases its parked followers. Reply: <see cref="DeadLetterSkipped"/> or <see cref="DeadLetterOperationFailed"/>.</summary>
/// <param name="Id">Store id.</param>
public sealed record SkipDeadLetter(long Id);

/// <summary>Deletes every dead letter. Reply: <see cref="DeadLettersPurged"/>.</summary>
public sealed record PurgeDeadLetters;

/// <summary>Result of a replay.</summary>
/// <param name="Id">Store id.</param>
/// <param name="Succeeded">True when the handler succeeded and the entry is gone.</param>
/// <param name="ReleasedFollowers">How many parked followers were released.</param>
/// <param name="Error">The error when it failed again.</param>
public sealed record DeadLetterReplayed(long Id, bool Succeeded, int ReleasedFollowers, string? Error);

/// <summary>Result of replaying all entries of a handler.</summary>
/// <param name="Results">One result per entry.</param>
public sealed record DeadLettersReplayed(IReadOnlyList<DeadLetterReplayed> Results);

/// <summary>Result of a skip.</summary>
/// <param name="Id">Store id.</param>
/// <param name="ReleasedFollowers">How many parked followers were released.</param>
public sealed record DeadLetterSkipped(long Id, int ReleasedFollowers);

/// <summary>Result of a purge.</summary>
/// <param name="Removed">How many entries were deleted.</param>
public sealed record DeadLettersPurged(int Removed);

/// <summary>A dead-letter operation failed (e.g. no entry with that id, or the store is unreachable).</summary>
/// <param name="Id">Store id, if the operation named one.</param>
/// <param name="Reason">What went wrong.</param>
public sealed record DeadLetterOperationFailed(long? Id, string Reason);
