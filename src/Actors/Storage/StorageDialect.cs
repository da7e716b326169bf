using ActorEvents.Actors.Configuration;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace ActorEvents.Actors.Storage;

/// <summary>
/// What differs between the databases ActorEvents runs on, in one place: SQLite (an embedded file, one writer),
/// PostgreSQL (a server, parallel writers, a transaction horizon) and the in-memory provider (no SQL database at all: the
/// null dialect). The rest of the runtime asks the dialect for a capability instead of asking which database it is on.
/// </summary>
internal abstract class StorageDialect
{
    /// <summary>SQLite.</summary>
    public static StorageDialect Sqlite { get; } = new SqliteDialect();

    /// <summary>PostgreSQL.</summary>
    public static StorageDialect PostgreSql { get; } = new PostgreSqlDialect();

    /// <summary>The in-memory provider: no database.</summary>
    public static StorageDialect InMemory { get; } = new InMemoryDialect();

    /// <summary>The provider's name (<see cref="PersistenceProviders"/>).</summary>
    public abstract string Provider { get; }

    /// <summary>False for the in-memory provider, which has no SQL database (no tables, no dead-letter rows, no read models).</summary>
    public virtual bool HasDatabase => true;

    /// <summary>The linq2db provider name.</summary>
    /// <exception cref="InvalidOperationException">The in-memory provider has none.</exception>
    public abstract string Linq2DbProvider { get; }

    /// <summary>One journal writer at a time (SQLite's single write lock): the group-commit writer runs one transaction at once.</summary>
    public virtual bool SingleWriter => false;

    /// <summary>
    /// Whether Akka.Persistence.Sql may create the journal's tables itself. Not on PostgreSQL: its initialization races when
    /// several nodes start together, so <see cref="DatabaseSchema"/> creates them up front under an advisory lock.
    /// </summary>
    public virtual bool PluginCreatesJournalTables => false;

    /// <summary>The read isolation the plugin's readers (recovery, the read journal) use, as a HOCON line, or empty.</summary>
    public virtual string ReadIsolationHocon => string.Empty;

    /// <summary>
    /// Whether the database reports the oldest transaction still running, so that a reader can tell a gap in the journal's
    /// orderings that will never fill from one a late commit may still fill (PostgreSQL's transaction horizon).
    /// </summary>
    public virtual bool HasTransactionHorizon => false;

    /// <summary>
    /// A statement that lets the current transaction commit without waiting for its flush (PostgreSQL's
    /// <c>synchronous_commit</c> off for it alone), or null where commits already skip it (SQLite with synchronous=NORMAL).
    /// </summary>
    public virtual string? UnflushedCommitStatement => null;

    /// <summary>A statement that serializes schema changes between nodes starting together (inside a transaction), or null.</summary>
    public virtual string? SchemaLockStatement => null;

    /// <summary>The statement that makes a connection refuse writes, or accept them again.</summary>
    public abstract string ReadOnlyStatement(bool readOnly);

    /// <summary>The dialect of a provider.</summary>
    /// <exception cref="InvalidOperationException">The provider is not supported.</exception>
    public static StorageDialect Of(string provider) => provider switch
    {
        PersistenceProviders.Sqlite => Sqlite,
        PersistenceProviders.PostgreSql => PostgreSql,
        PersistenceProviders.InMemory => InMemory,
        _ => throw new InvalidOperationException(
            $"ActorEvents:Persistence:Provider '{provider}' is not supported; use '{PersistenceProviders.Sqlite}', '{PersistenceProviders.PostgreSql}' or '{PersistenceProviders.InMemory}'."),
    };

    /// <summary>The dialect of a linq2db provider name (as the journal plugin's <c>provider-name</c> holds it), or null.</summary>
    public static StorageDialect? OfLinq2DbProvider(string linq2DbProvider) =>
        linq2DbProvider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase) ? Sqlite
        : linq2DbProvider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) ? PostgreSql
        : null;

    /// <summary>The effective connection string; fails with a clear message when one is required and missing.</summary>
    public abstract string ConnectionStringOf(PersistenceOptions options);

    /// <summary>linq2db options for ActorEvents' own connections (checkpoints, processed events, read models).</summary>
    public virtual DataOptions DataOptionsOf(string connectionString, Action<System.Data.Common.DbConnection> afterOpen) =>
        new DataOptions().UseConnectionString(Linq2DbProvider, connectionString);

    /// <summary>Prepares the database (an embedded file's folder and write-ahead log) and creates and upgrades every table.</summary>
    public abstract Task EnsureCreatedAsync(string connectionString, CancellationToken cancellationToken);

    /// <summary>Creates and upgrades ActorEvents' own tables (for a store used on its own, e.g. by the command line).</summary>
    public abstract Task EnsureTablesAsync(string connectionString, CancellationToken cancellationToken);

    private sealed class SqliteDialect : StorageDialect
    {
        public override string Provider => PersistenceProviders.Sqlite;

        public override string Linq2DbProvider => "SQLite.MS";

        public override bool SingleWriter => true;

        public override bool PluginCreatesJournalTables => true;

        // Microsoft.Data.Sqlite begins a transaction of unspecified isolation as BEGIN IMMEDIATE, which takes the
        // database's single write lock, so every recovery read and every read-journal poll queued behind the writers
        // (and their busy retries sleep 150 ms). read-uncommitted makes it a deferred BEGIN: in WAL mode a reader then
        // sees a consistent snapshot without locking anyone out (uncommitted reads exist only with a shared cache,
        // which is not used).
        public override string ReadIsolationHocon => "read-isolation-level = read-uncommitted";

        public override string ConnectionStringOf(PersistenceOptions options) =>
            string.IsNullOrWhiteSpace(options.ConnectionString) ? PersistenceOptions.DefaultSqliteConnectionString : options.ConnectionString;

        public override string ReadOnlyStatement(bool readOnly) => $"PRAGMA query_only = {(readOnly ? 1 : 0)}";

        // Not pooled, and synchronous=NORMAL on every connection (see ActorEventsDatabase): the setting never reaches the
        // journal's pooled connections.
        public override DataOptions DataOptionsOf(string connectionString, Action<System.Data.Common.DbConnection> afterOpen) =>
            new DataOptions()
                .UseConnectionString(Linq2DbProvider, new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString())
                .UseAfterConnectionOpened(afterOpen, (connection, _) =>
                {
                    afterOpen(connection);
                    return Task.CompletedTask;
                });

        public override async Task EnsureCreatedAsync(string connectionString, CancellationToken cancellationToken)
        {
            await StorageConnection.PrepareSqliteAsync(connectionString, cancellationToken).ConfigureAwait(false);
            await DatabaseSchema.CreateSqliteTablesAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }

        public override Task EnsureTablesAsync(string connectionString, CancellationToken cancellationToken) =>
            DatabaseSchema.CreateSqliteTablesAsync(connectionString, cancellationToken);
    }

    private sealed class PostgreSqlDialect : StorageDialect
    {
        public override string Provider => PersistenceProviders.PostgreSql;

        public override string Linq2DbProvider => "PostgreSQL.15";

        public override bool HasTransactionHorizon => true;

        public override string? UnflushedCommitStatement => "SET LOCAL synchronous_commit TO OFF";

        public override string? SchemaLockStatement => $"SELECT pg_advisory_xact_lock({DatabaseSchema.SchemaLockKey})";

        public override string ReadOnlyStatement(bool readOnly) => $"SET default_transaction_read_only = {(readOnly ? "on" : "off")}";

        public override string ConnectionStringOf(PersistenceOptions options) => string.IsNullOrWhiteSpace(options.ConnectionString)
            ? throw new InvalidOperationException(
                "ActorEvents:Persistence:ConnectionString is required when Provider is 'postgresql' (set it in configuration or as ActorEvents__Persistence__ConnectionString).")
            : options.ConnectionString;

        public override Task EnsureCreatedAsync(string connectionString, CancellationToken cancellationToken) =>
            DatabaseSchema.CreatePostgreSqlAsync(connectionString, cancellationToken);

        public override Task EnsureTablesAsync(string connectionString, CancellationToken cancellationToken) =>
            DatabaseSchema.CreatePostgreSqlAsync(connectionString, cancellationToken);
    }

    /// <summary>The null dialect: nothing to create, nothing to connect to.</summary>
    private sealed class InMemoryDialect : StorageDialect
    {
        public override string Provider => PersistenceProviders.InMemory;

        public override bool HasDatabase => false;

        public override string Linq2DbProvider => throw new InvalidOperationException($"No SQL provider for '{Provider}'.");

        public override string ConnectionStringOf(PersistenceOptions options) => string.Empty;

        public override string ReadOnlyStatement(bool readOnly) => throw new InvalidOperationException("The in-memory persistence provider has no SQL database.");

        public override DataOptions DataOptionsOf(string connectionString, Action<System.Data.Common.DbConnection> afterOpen) =>
            throw new InvalidOperationException("The in-memory persistence provider has no SQL database.");

        public override Task EnsureCreatedAsync(string connectionString, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task EnsureTablesAsync(string connectionString, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
