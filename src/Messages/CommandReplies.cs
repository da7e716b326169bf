namespace ActorEvents.Messages;

/// <summary>
/// The single reply type for a command: either <see cref="CommandAccepted"/> or <see cref="CommandRejected"/>.
/// No exception ever crosses the actor boundary to the caller.
/// </summary>
public abstract record CommandResult
{
    /// <summary>Id of the command this result answers.</summary>
    public required string CommandId { get; init; }

    /// <summary>True for <see cref="CommandAccepted"/>.</summary>
    public bool IsAccepted => this is CommandAccepted;
}

/// <summary>The command was decided and its events are durably persisted.</summary>
/// <param name="AggregateType">Stable name of the aggregate type.</param>
/// <param name="AggregateId">Id of the aggregate.</param>
/// <param name="Events">The persisted events, in order (empty when the command changed nothing).</param>
public sealed record CommandAccepted(string AggregateType, string AggregateId, IReadOnlyList<EventEnvelope> Events)
    : CommandResult
{
    /// <summary>True when this reply repeats the result of an earlier command with the same id.</summary>
    public bool Duplicate { get; init; }

    /// <summary>True when every handler (and follow-up) of these events finished before this reply was sent.</summary>
    public bool HandlersCompleted { get; init; }

    /// <summary>Outcome of every handler run for these events (empty when the mediator did not wait for handlers).</summary>
    public IReadOnlyList<HandlerOutcome> HandlerOutcomes { get; init; } = [];
}

/// <summary>The command was refused; nothing was written to the journal.</summary>
/// <param name="Code">Machine-readable reason.</param>
/// <param name="Message">Human-readable explanation.</param>
public sealed record CommandRejected(RejectionCode Code, string Message) : CommandResult;

/// <summary>Why a command was rejected.</summary>
public enum RejectionCode
{
    /// <summary>No aggregate is registered for the command's type.</summary>
    UnknownCommand = 1,

    /// <summary>The aggregate id is empty, whitespace, too long or contains control characters.</summary>
    InvalidAggregateId = 2,

    /// <summary>The command's validation hook refused the payload.</summary>
    ValidationFailed = 3,

    /// <summary>The serialized command is larger than the configured maximum.</summary>
    PayloadTooLarge = 4,

    /// <summary>The command needs an existing aggregate and there is none.</summary>
    AggregateNotFound = 5,

    /// <summary>The command would create an aggregate that already exists.</summary>
    AggregateAlreadyExists = 6,

    /// <summary>The aggregate's decide function refused the command (a domain rule).</summary>
    DomainRuleViolation = 7,

    /// <summary>
    /// No answer arrived within the command timeout. The command may or may not have been applied: retry with the same
    /// command id (a retry of an applied command is answered as a duplicate with its original events).
    /// </summary>
    Timeout = 8,

    /// <summary>The node's event pipeline or the journal's write queue is full; nothing was persisted. Retry later.</summary>
    Overloaded = 9,

    /// <summary>
    /// The journal did not write the events and never will (the write could not begin within the journal's write
    /// timeout, or its transaction rolled back); nothing was persisted. Retry with the same command id.
    /// </summary>
    NotPersisted = 10,

    /// <summary>The journal refused the events (e.g. they could not be serialized); nothing was persisted.</summary>
    PersistRejected = 11,

    /// <summary>The aggregate is restarting after a failure or the journal is unavailable; retry later.</summary>
    AggregateUnavailable = 12,

    /// <summary>The command could not be serialized or its type is not registered.</summary>
    UnregisteredType = 13,

    /// <summary>The journal is unavailable (its circuit breaker is open); the command failed fast. Retry later.</summary>
    JournalUnavailable = 14,

    /// <summary>
    /// The journal could not confirm whether the events were written (the connection was lost around the commit): they
    /// may be. Retry with the same command id: the retry is recognised and answered with the original events if they were
    /// written, and their handlers run either way.
    /// </summary>
    OutcomeUnknown = 15,

    /// <summary>
    /// This node cannot read the aggregate's stored events: one is of an event type or a schema version it does not know
    /// (a newer node wrote it, e.g. during a rolling upgrade). Nothing was persisted, and the aggregate is not recovered
    /// again until it passivates; retry once the node runs the version that knows the event.
    /// </summary>
    UnreadableStream = 16,
}

/// <summary>How one handler fared with one event.</summary>
/// <param name="Handler">Handler name.</param>
/// <param name="EventId">Id of the handled event.</param>
/// <param name="EventType">Stable name of the handled event.</param>
/// <param name="Status">Result of the invocation.</param>
/// <param name="Error">Error message when it failed.</param>
/// <param name="Attempts">How many times the handler was invoked for this event.</param>
public sealed record HandlerOutcome(string Handler, string EventId, string EventType, HandlerStatus Status, string? Error = null, int Attempts = 1);

/// <summary>Result of running one handler for one event.</summary>
public enum HandlerStatus
{
    /// <summary>The handler completed.</summary>
    Succeeded = 1,

    /// <summary>The handler failed (after its retries, if any).</summary>
    Failed = 2,

    /// <summary>The event went to the dead-letter store.</summary>
    DeadLettered = 3,

    /// <summary>The event waits behind a failed earlier event of the same aggregate.</summary>
    Parked = 4,
}
