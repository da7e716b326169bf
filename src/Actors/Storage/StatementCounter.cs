using System.Data;
using System.Data.Common;
using LinqToDB.Common;
using LinqToDB.Interceptors;

namespace ActorEvents.Actors.Storage;

/// <summary>Counts the statements linq2db sends through <see cref="ActorEventsDatabase"/>'s connections (one increment each); changes nothing.</summary>
internal sealed class StatementCounter : ICommandInterceptor
{
    private long _statements;

    /// <summary>Statements sent so far.</summary>
    public long Statements => Interlocked.Read(ref _statements);

    public DbCommand CommandInitialized(CommandEventData eventData, DbCommand command)
    {
        Interlocked.Increment(ref _statements);
        return command;
    }

    public Option<object?> ExecuteScalar(CommandEventData eventData, DbCommand command, Option<object?> result) => result;

    public Task<Option<object?>> ExecuteScalarAsync(CommandEventData eventData, DbCommand command, Option<object?> result, CancellationToken cancellationToken) =>
        Task.FromResult(result);

    public Option<int> ExecuteNonQuery(CommandEventData eventData, DbCommand command, Option<int> result) => result;

    public Task<Option<int>> ExecuteNonQueryAsync(CommandEventData eventData, DbCommand command, Option<int> result, CancellationToken cancellationToken) =>
        Task.FromResult(result);

    public Option<DbDataReader> ExecuteReader(CommandEventData eventData, DbCommand command, CommandBehavior commandBehavior, Option<DbDataReader> result) => result;

    public Task<Option<DbDataReader>> ExecuteReaderAsync(CommandEventData eventData, DbCommand command, CommandBehavior commandBehavior, Option<DbDataReader> result,
        CancellationToken cancellationToken) => Task.FromResult(result);

    public void AfterExecuteReader(CommandEventData eventData, DbCommand command, CommandBehavior commandBehavior, DbDataReader dataReader)
    {
    }

    public void BeforeReaderDispose(CommandEventData eventData, DbCommand? command, DbDataReader dataReader)
    {
    }

    public Task BeforeReaderDisposeAsync(CommandEventData eventData, DbCommand? command, DbDataReader dataReader) => Task.CompletedTask;
}
