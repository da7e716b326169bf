namespace ActorEvents.Messages;

/// <summary>Marker of every query; implement <see cref="IQuery{TResult}"/>, which names the result type.</summary>
public interface IQuery;

/// <summary>
/// A request for data, answered from a read model (a projection's tables) by the query handler registered for the
/// query type. Queries change nothing. Sent through the mediator (<c>IActorEventsClient.QueryAsync</c>, or
/// <see cref="RunQuery"/> to the mediator actor).
/// </summary>
/// <typeparam name="TResult">The type of the answer.</typeparam>
public interface IQuery<TResult> : IQuery;

/// <summary>Asks the mediator to run a query. Reply: <see cref="QueryReply"/>, never an exception.</summary>
/// <param name="Query">The query.</param>
public sealed record RunQuery(IQuery Query);

/// <summary>The mediator's answer to <see cref="RunQuery"/>: the result, or why there is none.</summary>
/// <param name="Result">The handler's result (null when <paramref name="Error"/> is set, or when the handler returned null).</param>
/// <param name="Error">Why the query has no result.</param>
public sealed record QueryReply(object? Result, QueryError? Error);

/// <summary>Why a query has no result.</summary>
/// <param name="Code">Machine-readable reason.</param>
/// <param name="Message">Human-readable explanation.</param>
public sealed record QueryError(QueryErrorCode Code, string Message);

/// <summary>Why a query failed.</summary>
public enum QueryErrorCode
{
    /// <summary>No query handler is registered for the query's type.</summary>
    UnknownQuery = 1,

    /// <summary>The query handler threw; the message says what.</summary>
    Failed = 2,

    /// <summary>No answer arrived within the timeout.</summary>
    Timeout = 3,

    /// <summary>The node has no SQL database for read models (the in-memory provider).</summary>
    ReadModelUnavailable = 4,

    /// <summary>The handler answered with something other than the query's result type.</summary>
    WrongResultType = 5,
}

/// <summary>What <c>IActorEventsClient.QueryAsync</c> returns: the typed value, or the error.</summary>
/// <typeparam name="TResult">The query's result type.</typeparam>
/// <param name="Value">The result when <see cref="Succeeded"/>.</param>
/// <param name="Error">The error otherwise.</param>
public sealed record QueryResult<TResult>(TResult? Value, QueryError? Error)
{
    /// <summary>True when the handler answered.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The value, or an <see cref="InvalidOperationException"/> naming the error.</summary>
    public TResult ValueOrThrow() => Error is null
        ? Value!
        : throw new InvalidOperationException($"The query failed: {Error.Code}: {Error.Message}");
}
