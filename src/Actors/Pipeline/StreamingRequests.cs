using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Handles a streaming request (python-cqrs StreamingRequestHandler): yields one result per step. Each step
/// sends its commands through <see cref="StreamingContext.SendAsync"/>, whose events are dispatched to their
/// handlers (on the streaming pool) before the call returns, so a step's events are handled before its result is yielded.
/// </summary>
/// <typeparam name="TRequest">The request.</typeparam>
/// <typeparam name="TResult">One step's result.</typeparam>
public interface IStreamingRequestHandler<in TRequest, out TResult> where TRequest : IStreamingRequest<TResult>
{
    /// <summary>Produces the results, step by step.</summary>
    IAsyncEnumerable<TResult> HandleAsync(TRequest request, StreamingContext context);
}

/// <summary>What a streaming handler uses to send the commands of each step.</summary>
public sealed class StreamingContext
{
    private readonly IActorRef _mediator;
    private readonly TimeSpan _timeout;
    private readonly string _correlationId;

    internal StreamingContext(IActorRef mediator, TimeSpan timeout, string correlationId, CancellationToken cancellationToken)
    {
        _mediator = mediator;
        _timeout = timeout;
        _correlationId = correlationId;
        CancellationToken = cancellationToken;
    }

    /// <summary>Cancelled when the caller stops reading.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Sends one command of this step and returns once it is persisted and every handler of its events has
    /// finished on the streaming pool. Never throws for a refused command: it returns <see cref="CommandRejected"/>.
    /// </summary>
    public async Task<CommandResult> SendAsync(ICommand command, string? commandId = null)
    {
        var metadata = new CommandMetadata(commandId, _correlationId, null, ReplyMode.AfterHandlers);
        try
        {
            return await _mediator.Ask<CommandResult>(new RouteCommand(command, metadata, PipelineKind.Streaming), _timeout, CancellationToken)
                .ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return new CommandRejected(RejectionCode.Timeout, $"The mediator did not answer within {_timeout.TotalSeconds:0}s.") { CommandId = commandId ?? string.Empty };
        }
    }
}

/// <summary>A command routed with an explicit pipeline (used by streaming requests).</summary>
/// <param name="Command">The command.</param>
/// <param name="Metadata">Its metadata.</param>
/// <param name="Pipeline">Which handler pool runs its events.</param>
public sealed record RouteCommand(ICommand Command, CommandMetadata Metadata, PipelineKind Pipeline);
