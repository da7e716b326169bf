using ActorEvents.Messages;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Internal;

namespace ActorEvents.Actors.Queries;

/// <summary>
/// Answers one query type from a read model. Resolved from dependency injection in a fresh scope per query; reads
/// through <see cref="QueryContext.Database"/> (or anything it takes as a dependency) and changes nothing.
/// </summary>
/// <typeparam name="TQuery">The query.</typeparam>
/// <typeparam name="TResult">Its result.</typeparam>
public interface IQueryHandler<in TQuery, TResult> where TQuery : IQuery<TResult>
{
    /// <summary>Answers the query. Throwing answers the caller with <see cref="QueryErrorCode.Failed"/>.</summary>
    Task<TResult> HandleAsync(TQuery query, QueryContext context);
}

/// <summary>What a query handler works with.</summary>
public sealed class QueryContext
{
    internal QueryContext(ActorEventsDatabase database, IServiceProvider services, CancellationToken cancellationToken)
    {
        Database = database;
        Services = services;
        CancellationToken = cancellationToken;
    }

    /// <summary>The journal's database, where projections keep their tables (<c>using var db = context.Database.Open();</c>).</summary>
    public ActorEventsDatabase Database { get; }

    /// <summary>Services of this query's scope.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Cancelled when the query times out.</summary>
    public CancellationToken CancellationToken { get; }
}

/// <summary>A registered query handler: the query type it answers and how to run it.</summary>
public sealed class QueryHandlerRegistration
{
    private readonly Func<object, IQuery, QueryContext, Task<object?>> _invoke;

    private QueryHandlerRegistration(Type queryType, Type resultType, Type handlerType, Func<object, IQuery, QueryContext, Task<object?>> invoke)
    {
        QueryType = queryType;
        ResultType = resultType;
        HandlerType = handlerType;
        _invoke = invoke;
    }

    /// <summary>The query type.</summary>
    public Type QueryType { get; }

    /// <summary>Its result type.</summary>
    public Type ResultType { get; }

    /// <summary>The handler class.</summary>
    public Type HandlerType { get; }

    /// <summary>A registration for one query type.</summary>
    public static QueryHandlerRegistration For<TQuery, TResult, THandler>()
        where TQuery : IQuery<TResult>
        where THandler : class, IQueryHandler<TQuery, TResult> =>
        new(typeof(TQuery), typeof(TResult), typeof(THandler),
            async (handler, query, context) => await ((THandler)handler).HandleAsync((TQuery)query, context).ConfigureAwait(false));

    /// <summary>Resolves the handler in a fresh scope and runs it.</summary>
    public async Task<object?> RunAsync(IQuery query, IServiceScopeFactory scopes, ActorEventsDatabase database, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var handler = ServiceActivation.Create(scope.ServiceProvider, HandlerType);
        return await _invoke(handler, query, new QueryContext(database, scope.ServiceProvider, cancellationToken)).ConfigureAwait(false);
    }
}

/// <summary>
/// Runs queries (one per node; the <see cref="Mediator.CommandMediator"/> hands it every <see cref="RunQuery"/>): finds
/// the handler registered for the query's type and answers with one <see cref="QueryReply"/> — the result, or a typed
/// <see cref="QueryError"/> for an unknown query or a handler that threw. Queries run concurrently, off the actor's thread.
/// </summary>
internal sealed class QueryDispatcher : ReceiveActor
{
    /// <summary>Creates the dispatcher.</summary>
    public QueryDispatcher(IReadOnlyDictionary<Type, QueryHandlerRegistration> handlers, IServiceScopeFactory scopes, ActorEventsDatabase database, TimeSpan timeout)
    {
        Receive<RunQuery>(run =>
        {
            var query = run.Query;
            if (query is null || !handlers.TryGetValue(query.GetType(), out var registration))
            {
                Sender.Tell(new QueryReply(null, new QueryError(QueryErrorCode.UnknownQuery,
                    $"No query handler is registered for '{query?.GetType().Name ?? "null"}'.")));
                return;
            }

            if (!database.IsAvailable)
            {
                Sender.Tell(new QueryReply(null, new QueryError(QueryErrorCode.ReadModelUnavailable,
                    "The in-memory persistence provider keeps no read models; queries need sqlite or postgresql.")));
                return;
            }

            var cancellation = new CancellationTokenSource(timeout);
            registration.RunAsync(query, scopes, database, cancellation.Token).ContinueWith(task =>
            {
                cancellation.Dispose();
                if (task.IsCompletedSuccessfully)
                {
                    return task.Result is null || registration.ResultType.IsInstanceOfType(task.Result)
                        ? new QueryReply(task.Result, null)
                        : new QueryReply(null, new QueryError(QueryErrorCode.WrongResultType,
                            $"The handler of '{query.GetType().Name}' answered {task.Result.GetType().Name}, not {registration.ResultType.Name}."));
                }

                var error = task.Exception?.GetBaseException();
                return error is OperationCanceledException || task.IsCanceled
                    ? new QueryReply(null, new QueryError(QueryErrorCode.Timeout, $"'{query.GetType().Name}' did not finish within {timeout.TotalSeconds:0.###} s."))
                    : new QueryReply(null, new QueryError(QueryErrorCode.Failed, $"{error?.GetType().Name}: {error?.Message}"));
            }, TaskScheduler.Default).PipeTo(Sender);
        });
    }

    /// <summary>Props of the dispatcher.</summary>
    public static Props Props(IReadOnlyDictionary<Type, QueryHandlerRegistration> handlers, IServiceScopeFactory scopes, ActorEventsDatabase database, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new QueryDispatcher(handlers, scopes, database, timeout));
}
