using ActorEvents.Actors.Persistence;
using ActorEvents.Messages;
using Akka.Pattern;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// What a journal failure or rejection means for the caller: the one place that decides between "nothing was persisted"
/// (certain) and "the outcome is unknown" (the events may be in the journal).
/// </summary>
internal static class JournalOutcome
{
    /// <summary>
    /// A failed write: <see cref="RejectionCode.JournalUnavailable"/> when the circuit breaker was open (the journal was not
    /// called), <see cref="RejectionCode.NotPersisted"/> when the writer knows nothing was written, otherwise
    /// <see cref="RejectionCode.OutcomeUnknown"/> (a breaker call-timeout, a lost connection around the commit, or a
    /// journal that does not say: Akka.Persistence.Sql's own writer, a custom one).
    /// </summary>
    public static CommandRejected OfFailure(Exception cause, string persistenceId) => cause switch
    {
        OpenCircuitException => new(RejectionCode.JournalUnavailable,
            $"The journal is unavailable (its circuit breaker is open after repeated failures): the events of {persistenceId} were not written. Retry later with the same command id.")
        { CommandId = string.Empty },
        JournalWriteNotWrittenException => new(RejectionCode.NotPersisted,
            $"The journal failed to write the events of {persistenceId} ({cause.Message}); nothing was persisted and nothing will be. Retry with the same command id.")
        { CommandId = string.Empty },
        _ => new(RejectionCode.OutcomeUnknown,
            $"The journal could not confirm whether the events of {persistenceId} were written ({cause.GetType().Name}: {cause.Message}); they may be. "
            + "Retry with the same command id: the retry is recognised and answered with the original events if they were written.")
        { CommandId = string.Empty },
    };

    /// <summary>
    /// A rejected write (nothing was written): <see cref="RejectionCode.Overloaded"/> for a full write queue,
    /// <see cref="RejectionCode.NotPersisted"/> for a write that could not begin before its deadline,
    /// <see cref="RejectionCode.PersistRejected"/> for anything else (e.g. the events could not be serialized).
    /// </summary>
    public static CommandRejected OfRejection(Exception cause, string persistenceId) => cause switch
    {
        JournalOverloadedException => new(RejectionCode.Overloaded,
            $"The journal's write queue is full: the events of {persistenceId} were not written. Retry later (the same command id is safe).")
        { CommandId = string.Empty },
        JournalWriteExpiredException => new(RejectionCode.NotPersisted,
            $"The journal could not write the events of {persistenceId} in time ({cause.Message}); nothing was persisted and nothing will be. Retry with the same command id.")
        { CommandId = string.Empty },
        _ => new(RejectionCode.PersistRejected,
            $"The journal rejected the events of {persistenceId} ({cause.GetType().Name}: {cause.Message}); nothing was persisted.")
        { CommandId = string.Empty },
    };
}
