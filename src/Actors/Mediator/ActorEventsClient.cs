using System.Runtime.CompilerServices;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Mediator;

/// <summary>The client facade for code that is not an actor: send a command, get its one result; or stream a request's results.</summary>
public interface IActorEventsClient
{
    /// <summary>Sends a command through the node's mediator. Never throws for a refused or timed-out command: those come back as <see cref="CommandRejected"/>.</summary>
    Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a streaming request with its registered <see cref="IStreamingRequestHandler{TRequest,TResult}"/>: each result is
    /// yielded as soon as its step — and the handlers of that step's events — finished.
    /// </summary>
    IAsyncEnumerable<TResult> StreamAsync<TResult>(IStreamingRequest<TResult> request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a query through the mediator with its registered query handler (it reads a projection). Never throws for an
    /// unknown query, a failing handler or a timeout: those come back as <see cref="QueryResult{TResult}.Error"/>.
    /// </summary>
    Task<QueryResult<TResult>> QueryAsync<TResult>(IQuery<TResult> query, CancellationToken cancellationToken = default);
}

/// <summary>Sends commands to the <see cref="CommandMediator"/> registered in the actor registry.</summary>
internal sealed class ActorEventsClient : IActorEventsClient
{
    private readonly IRequiredActor<CommandMediator> _mediator;
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeSpan _timeout;

    /// <summary>Creates the client.</summary>
    public ActorEventsClient(IRequiredActor<CommandMediator> mediator, IServiceScopeFactory scopes, IOptions<ActorEventsOptions> options)
    {
        _mediator = mediator;
        _scopes = scopes;
        // The mediator answers a timeout itself; this margin only covers a mediator that is gone.
        _timeout = options.Value.Mediator.CommandTimeout * 2 + TimeSpan.FromSeconds(5);
    }

    /// <inheritdoc />
    public async Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default)
    {
        metadata ??= CommandMetadata.None;
        if (string.IsNullOrWhiteSpace(metadata.CommandId))
        {
            // Known to the caller even when the answer is lost, so a retry can reuse it.
            metadata = metadata with { CommandId = Guid.CreateVersion7().ToString("N") };
        }

        if (metadata.TraceParent is null && System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } caller)
        {
            // The caller's span (a handler's, when a handler sends the command) becomes the command span's parent.
            metadata = metadata with { TraceParent = caller.Id };
        }

        var mediator = await _mediator.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await mediator.Ask<CommandResult>(new SubmitCommand(command, metadata), _timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return new CommandRejected(RejectionCode.Timeout, $"The mediator did not answer within {_timeout.TotalSeconds:0}s.")
            {
                CommandId = metadata.CommandId!,
            };
        }
    }

    /// <inheritdoc />
    public async Task<QueryResult<TResult>> QueryAsync<TResult>(IQuery<TResult> query, CancellationToken cancellationToken = default)
    {
        var mediator = await _mediator.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reply = await mediator.Ask<QueryReply>(new RunQuery(query), _timeout, cancellationToken).ConfigureAwait(false);
            return reply.Error is { } error
                ? new QueryResult<TResult>(default, error)
                : new QueryResult<TResult>((TResult?)reply.Result, null);
        }
        catch (AskTimeoutException)
        {
            return new QueryResult<TResult>(default, new QueryError(QueryErrorCode.Timeout, $"The mediator did not answer within {_timeout.TotalSeconds:0}s."));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TResult> StreamAsync<TResult>(IStreamingRequest<TResult> request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var mediator = await _mediator.GetAsync(cancellationToken).ConfigureAwait(false);
        await using var scope = _scopes.CreateAsyncScope();
        var serviceType = typeof(IStreamingRequestHandler<,>).MakeGenericType(request.GetType(), typeof(TResult));
        var handler = scope.ServiceProvider.GetService(serviceType)
            ?? throw new InvalidOperationException($"No streaming handler is registered for '{request.GetType().Name}'.");
        var context = new StreamingContext(mediator, _timeout, Guid.CreateVersion7().ToString("N"), cancellationToken);
        var results = (IAsyncEnumerable<TResult>)serviceType.GetMethod(nameof(IStreamingRequestHandler<IStreamingRequest<TResult>, TResult>.HandleAsync))!
            .Invoke(handler, [request, context])!;
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return result;
        }
    }
}
