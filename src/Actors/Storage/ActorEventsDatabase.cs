using ActorEvents.Actors.Configuration;
using LinqToDB;
using LinqToDB.Data;
using System.Data.Common;

namespace ActorEvents.Actors.Storage;

/// <summary>
/// The SQL database of the journal, seen through linq2db: where checkpoints, processed-event records and read models
/// live, so that a projection's tables and its checkpoint can commit in one transaction. Registered as a singleton.
/// </summary>
/// <remarks>
/// On SQLite these connections commit with <c>synchronous=NORMAL</c> (the journal keeps FULL): in write-ahead-log mode
/// a commit then survives a process crash but not necessarily a power loss, and what a power loss takes is always the
/// newest commits, together. A power loss stops the node too, and every subscription then starts again from its stored
/// checkpoint, which is only written after the effects it covers: a lost tail is simply processed again. (A broker
/// subscriber's message acknowledged just before a power loss is the exception: its effect may be gone with the tail.)
/// It turns an fsync per unit of work (2 ms and more) into a few microseconds. The connections are not pooled, so the
/// setting never reaches the journal's pooled connections. A PostgreSQL server crash, by contrast, leaves the node
/// running with its positions in memory: there only a projection's batch, which carries its checkpoint, commits without
/// waiting for the flush (<see cref="BeginCheckpointedUnitOfWorkAsync"/>).
/// </remarks>
public sealed class ActorEventsDatabase
{
    private readonly DataOptions? _options;
    private readonly StorageDialect _dialect;
    private readonly string _connectionString = string.Empty;
    private readonly StatementCounter _statements = new();

    /// <summary>Creates the database description for the configured provider.</summary>
    public ActorEventsDatabase(PersistenceOptions persistence)
    {
        _dialect = StorageDialect.Of(persistence.Provider);
        Provider = _dialect.Provider;
        if (!_dialect.HasDatabase)
        {
            return;
        }

        _connectionString = _dialect.ConnectionStringOf(persistence);
        _options = _dialect.DataOptionsOf(_connectionString, SynchronousNormal).UseInterceptor(_statements);
    }

    /// <summary>
    /// Statements sent through this database's connections since it was created (subscriptions' journal reads,
    /// checkpoints, projections, processed-event records; not the journal's own writes): for tests and the bench.
    /// </summary>
    public long Statements => _statements.Statements;

    /// <summary>The persistence provider (<see cref="PersistenceProviders"/>).</summary>
    public string Provider { get; }

    /// <summary>False for the in-memory provider, which has no SQL database.</summary>
    public bool IsAvailable => _options is not null;

    /// <summary>
    /// True where the database reports its oldest running transaction (PostgreSQL), so that a journal reader can tell a
    /// gap that will never fill from one a late commit may still fill.
    /// </summary>
    public bool HasTransactionHorizon => _dialect.HasTransactionHorizon;

    /// <summary>
    /// Creates (when missing) and upgrades ActorEvents' own tables through the one schema initializer
    /// (<see cref="DatabaseSchema"/>): for a tool working on a database no node started on. Nothing on the in-memory provider.
    /// </summary>
    public Task EnsureTablesAsync(CancellationToken cancellationToken = default) =>
        _dialect.EnsureTablesAsync(_connectionString, cancellationToken);

    /// <summary>Opens a connection; dispose it when done (one per unit of work).</summary>
    /// <exception cref="InvalidOperationException">The provider is in-memory.</exception>
    public DataConnection Open() => _options is not null
        ? new DataConnection(_options)
        : throw new InvalidOperationException("The in-memory persistence provider has no SQL database for checkpoints and read models; use sqlite or postgresql.");

    /// <summary>
    /// Begins the transaction of a unit of work whose commit must be durable before it returns: a durable handler's (or a
    /// broker subscriber's) effects with its processed-event row. Its subscription moves its checkpoint later, in another
    /// transaction (a broker subscriber acknowledges the message once it returns), so a commit that a server crash could
    /// still take would leave the effect lost behind a position that has moved on.
    /// </summary>
    public static Task<DataConnectionTransaction> BeginUnitOfWorkAsync(DataConnection connection, CancellationToken cancellationToken = default) =>
        connection.BeginTransactionAsync(cancellationToken);

    /// <summary>
    /// Begins the transaction of a unit of work that moves its own checkpoint first, by compare-and-swap (a projection's
    /// batch). On PostgreSQL it commits without waiting for the WAL flush (<c>synchronous_commit</c> off for this
    /// transaction only): a server crash can take only a tail of such commits, rows and checkpoint together, and the next
    /// batch's compare-and-swap then finds the stored checkpoint behind and reads again from it.
    /// </summary>
    public async Task<DataConnectionTransaction> BeginCheckpointedUnitOfWorkAsync(DataConnection connection, CancellationToken cancellationToken = default)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (_dialect.UnflushedCommitStatement is { } unflushed)
        {
            await connection.ExecuteAsync(unflushed, cancellationToken).ConfigureAwait(false);
        }

        return transaction;
    }

    /// <summary>
    /// Makes a connection refuse writes (SQLite: <c>PRAGMA query_only</c>; PostgreSQL: read-only transactions by default), or
    /// accept them again: what a durable handler's unit of work is while user code runs.
    /// </summary>
    public Task SetReadOnlyAsync(DataConnection connection, bool readOnly, CancellationToken cancellationToken = default) =>
        connection.ExecuteAsync(_dialect.ReadOnlyStatement(readOnly), cancellationToken);

    private static void SynchronousNormal(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA synchronous=NORMAL; {StorageConnection.SqliteBusyTimeoutPragma}";
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs schema changes in one transaction; on PostgreSQL under the same advisory lock as <see cref="DatabaseSchema"/>,
    /// so nodes starting together never race on CREATE TABLE.
    /// </summary>
    public async Task ChangeSchemaAsync(Func<DataConnection, CancellationToken, Task> change, CancellationToken cancellationToken = default)
    {
        await using var db = Open();
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (_dialect.SchemaLockStatement is { } schemaLock)
        {
            await db.ExecuteAsync(schemaLock, cancellationToken).ConfigureAwait(false);
        }

        await change(db, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
