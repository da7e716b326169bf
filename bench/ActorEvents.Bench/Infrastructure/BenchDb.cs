using ActorEvents.Actors.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>
/// One fresh database for one run: nothing (in-memory journal), a new SQLite file in the temp folder, or a new
/// schema in the PostgreSQL database named by the environment. Removed again on dispose.
/// </summary>
internal sealed class BenchDb : IAsyncDisposable
{
    /// <summary>Environment variables that may hold the PostgreSQL connection string, in order of preference.</summary>
    public static readonly string[] PostgresVariables = ["ACTOREVENTS_TEST_POSTGRES", "ActorEvents__Persistence__ConnectionString"];

    private readonly string? _schema;
    private readonly string? _adminConnectionString;

    private BenchDb(BenchDatabase kind, string provider, string connectionString, string? schema, string? adminConnectionString)
    {
        Kind = kind;
        Provider = provider;
        ConnectionString = connectionString;
        _schema = schema;
        _adminConnectionString = adminConnectionString;
    }

    public BenchDatabase Kind { get; }

    /// <summary>The <see cref="PersistenceOptions.Provider"/> value.</summary>
    public string Provider { get; }

    /// <summary>Connection string (empty for the in-memory journal).</summary>
    public string ConnectionString { get; }

    public string Name => NameOf(Kind);

    public bool IsDurable => Kind != BenchDatabase.InMem;

    public static string NameOf(BenchDatabase kind) => kind switch
    {
        BenchDatabase.InMem => "inmem",
        BenchDatabase.Sqlite => "sqlite",
        _ => "postgres",
    };

    public PersistenceOptions PersistenceOptions(JournalWriter writer) => new()
    {
        Provider = Provider,
        ConnectionString = Kind == BenchDatabase.InMem ? null : ConnectionString,
        AutoInitialize = true,
        JournalWriter = writer,
    };

    /// <summary>Runs one statement on the database (SQLite or PostgreSQL).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using System.Data.Common.DbConnection connection = Kind == BenchDatabase.Postgres
            ? new NpgsqlConnection(ConnectionString)
            : new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The PostgreSQL connection string from the environment, or a clear error.</summary>
    public static string PostgresConnectionString()
    {
        foreach (var variable in PostgresVariables)
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value;
            }
        }

        throw new InvalidOperationException(
            $"--db postgres needs a connection string in {string.Join(" or ", PostgresVariables)} " +
            "(e.g. \"Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=actor_events\").");
    }

    public static async Task<BenchDb> CreateAsync(BenchDatabase kind, CancellationToken cancellationToken = default)
    {
        switch (kind)
        {
            case BenchDatabase.InMem:
                return new BenchDb(kind, PersistenceProviders.InMemory, string.Empty, null, null);
            case BenchDatabase.Sqlite:
                var folder = Path.Combine(Path.GetTempPath(), "actor-events-bench");
                Directory.CreateDirectory(folder);
                var file = Path.Combine(folder, $"{Guid.NewGuid():N}.db");
                return new BenchDb(kind, PersistenceProviders.Sqlite, $"Data Source={file}", null, null);
            default:
                var admin = PostgresConnectionString();
                var schema = $"bench_{Guid.NewGuid():N}"[..22];
                await using (var connection = new NpgsqlConnection(admin))
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                var builder = new NpgsqlConnectionStringBuilder(admin) { SearchPath = schema };
                return new BenchDb(kind, PersistenceProviders.PostgreSql, builder.ConnectionString, schema, admin);
        }
    }

    public async ValueTask DisposeAsync()
    {
        switch (Kind)
        {
            case BenchDatabase.Sqlite:
                // Pooled connections keep the file open: release them before deleting.
                SqliteConnection.ClearAllPools();
                var file = new SqliteConnectionStringBuilder(ConnectionString).DataSource;
                foreach (var path in new[] { file, file + "-wal", file + "-shm", file + "-journal" })
                {
                    try
                    {
                        File.Delete(path);
                    }
                    catch (IOException)
                    {
                        // Best effort: the temp folder keeps what a finalising connection still holds.
                    }
                }

                break;
            case BenchDatabase.Postgres:
                NpgsqlConnection.ClearAllPools();
                try
                {
                    await using var connection = new NpgsqlConnection(_adminConnectionString);
                    await connection.OpenAsync().ConfigureAwait(false);
                    await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
                    await command.ExecuteNonQueryAsync().ConfigureAwait(false);
                }
                catch (NpgsqlException)
                {
                    // Best effort: a leftover bench_* schema is harmless.
                }

                break;
        }
    }
}
