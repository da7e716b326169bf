using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Storage;

/// <summary>The one place that knows how the databases differ: each provider's capabilities, and the null dialect of the in-memory provider.</summary>
public sealed class StorageDialectTests
{
    [Fact]
    public void Should_give_sqlite_one_writer_its_own_journal_tables_and_snapshot_reads_without_the_write_lock()
    {
        var sqlite = StorageDialect.Of(PersistenceProviders.Sqlite);

        Assert.True(sqlite.HasDatabase);
        Assert.True(sqlite.SingleWriter);
        Assert.True(sqlite.PluginCreatesJournalTables);
        Assert.Equal("read-isolation-level = read-uncommitted", sqlite.ReadIsolationHocon);
        Assert.False(sqlite.HasTransactionHorizon);
        Assert.Null(sqlite.SchemaLockStatement);
        Assert.Equal("PRAGMA query_only = 1", sqlite.ReadOnlyStatement(readOnly: true));
        Assert.Equal(PersistenceOptions.DefaultSqliteConnectionString, sqlite.ConnectionStringOf(new PersistenceOptions { Provider = PersistenceProviders.Sqlite }));
        Assert.Same(sqlite, StorageDialect.OfLinq2DbProvider(sqlite.Linq2DbProvider));
    }

    [Fact]
    public void Should_give_postgresql_parallel_writers_a_transaction_horizon_and_a_schema_lock()
    {
        var postgres = StorageDialect.Of(PersistenceProviders.PostgreSql);

        Assert.True(postgres.HasDatabase);
        Assert.False(postgres.SingleWriter);
        Assert.False(postgres.PluginCreatesJournalTables);
        Assert.True(postgres.HasTransactionHorizon);
        Assert.Contains("pg_advisory_xact_lock", postgres.SchemaLockStatement, StringComparison.Ordinal);
        Assert.Equal("SET LOCAL synchronous_commit TO OFF", postgres.UnflushedCommitStatement);
        Assert.Equal("SET default_transaction_read_only = off", postgres.ReadOnlyStatement(readOnly: false));
        var missing = Assert.Throws<InvalidOperationException>(() => postgres.ConnectionStringOf(new PersistenceOptions { Provider = PersistenceProviders.PostgreSql }));
        Assert.Contains("ConnectionString is required", missing.Message, StringComparison.Ordinal);
        Assert.Same(postgres, StorageDialect.OfLinq2DbProvider(postgres.Linq2DbProvider));
    }

    [Fact]
    public async Task Should_give_the_in_memory_provider_a_null_dialect_that_creates_nothing_and_refuses_sql()
    {
        var none = StorageDialect.Of(PersistenceProviders.InMemory);

        Assert.False(none.HasDatabase);
        Assert.Equal(string.Empty, none.ConnectionStringOf(new PersistenceOptions { Provider = PersistenceProviders.InMemory }));
        await none.EnsureCreatedAsync(string.Empty, CancellationToken.None);
        await none.EnsureTablesAsync(string.Empty, CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => none.Linq2DbProvider);
        Assert.Throws<InvalidOperationException>(() => none.ReadOnlyStatement(readOnly: true));
    }

    [Fact]
    public void Should_refuse_an_unknown_provider_naming_the_supported_ones()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageDialect.Of("sqlserver"));

        Assert.Contains("'sqlserver' is not supported; use 'sqlite', 'postgresql' or 'inmemory'", error.Message, StringComparison.Ordinal);
        Assert.Null(StorageDialect.OfLinq2DbProvider("SqlServer.2019"));
    }
}
