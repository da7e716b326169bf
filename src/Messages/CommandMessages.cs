namespace ActorEvents.Messages;

/// <summary>
/// Metadata a caller may attach to a command. Every field is optional; the mediator fills in what is missing.
/// </summary>
/// <param name="CommandId">Id of this command. Reuse it when retrying so the aggregate can de-duplicate.</param>
/// <param name="CorrelationId">Id that ties together everything caused by one original request.</param>
/// <param name="OriginStream">Name of the stream/context that triggered the command (Protean's origin stream).</param>
/// <param name="ReplyMode">When the mediator replies; null uses the node's configured default.</param>
public sealed record CommandMetadata(string? CommandId = null, string? CorrelationId = null, string? OriginStream = null, ReplyMode? ReplyMode = null)
{
    /// <summary>
    /// W3C <c>traceparent</c> of the caller's span: the command's span becomes its child. The client fills it in from
    /// <see cref="System.Diagnostics.Activity.Current"/> when it is not given.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>No metadata: the mediator generates the ids.</summary>
    public static CommandMetadata None { get; } = new();
}

/// <summary>
/// Ask the mediator to execute a command with explicit metadata. Sending a bare <see cref="ICommand"/> to
/// the mediator is the same as sending it with <see cref="CommandMetadata.None"/>.
/// </summary>
/// <param name="Command">The command to execute.</param>
/// <param name="Metadata">Ids and origin of the command.</param>
public sealed record SubmitCommand(ICommand Command, CommandMetadata Metadata);

/// <summary>When the mediator answers a command.</summary>
public enum ReplyMode
{
    /// <summary>After every handler of the command's events, and every follow-up, has finished (python-cqrs semantics).</summary>
    AfterHandlers = 1,

    /// <summary>Right after the events are persisted; handlers run in the background.</summary>
    AfterPersist = 2,
}

/// <summary>
/// A request whose handling yields results step by step (e.g. a bulk import). Sent through the client's
/// <c>StreamAsync</c>; each result arrives as soon as its step (and the handlers of that step's events) finished.
/// </summary>
/// <typeparam name="TResult">The type of one step's result.</typeparam>
public interface IStreamingRequest<TResult>;
