using System.Data.Common;
using ActorEvents.Actors.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// The databases persistence tests run against: SQLite always, PostgreSQL when
/// <c>ACTOREVENTS_TEST_POSTGRES</c> holds a connection string (CI always sets it; see .ci/run).
/// </summary>
public static class TestDatabases
{
    /// <summary>Environment variable with the PostgreSQL connection string.</summary>
    public const string PostgresVariable = "ACTOREVENTS_TEST_POSTGRES";

    /// <summary>The PostgreSQL connection string, or null when not configured.</summary>
    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value ? value : null;

    /// <summary>Theory data: every provider available here.</summary>
    public static TheoryData<string> Providers
    {
        get
        {
            var data = new TheoryData<string> { PersistenceProviders.Sqlite };
            if (PostgresConnectionString is not null)
            {
                data.Add(PersistenceProviders.PostgreSql);
            }

            return data;
        }
    }

    /// <summary>A database of the given provider for one test: a temp SQLite file, or the shared PostgreSQL database.</summary>
    public static TestDatabase Create(string provider) => provider switch
    {
        PersistenceProviders.Sqlite => new TestDatabase(provider, new TempSqliteDatabase()),
        PersistenceProviders.PostgreSql => new TestDatabase(provider, null),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };

    /// <summary>
    /// A database that holds this test's rows alone: a temp SQLite file, or a PostgreSQL database created for the test
    /// (and dropped with it) — for tests whose operations reach every row of a table (pruning, purging).
    /// </summary>
    public static TestDatabase CreateIsolated(string provider) => provider == PersistenceProviders.PostgreSql
        ? new TestDatabase(provider, null, ProcessDatabase.Postgres("ae_test"))
        : Create(provider);
}

/// <summary>One test's database. Tests on the shared PostgreSQL database use unique aggregate ids.</summary>
public sealed class TestDatabase(string provider, TempSqliteDatabase? sqlite, ProcessDatabase? postgres = null) : IDisposable
{
    /// <summary>On the shared PostgreSQL database: keeps a test stopping the server away while this test uses it.</summary>
    private readonly IDisposable? _server = provider == PersistenceProviders.PostgreSql && postgres is null ? PostgresServerLock.Use() : null;

    /// <summary>Provider name.</summary>
    public string Provider { get; } = provider;

    /// <summary>Connection string.</summary>
    public string ConnectionString => sqlite?.ConnectionString
        ?? postgres?.ConnectionString
        ?? TestDatabases.PostgresConnectionString
        ?? throw new InvalidOperationException($"{TestDatabases.PostgresVariable} is not set.");

    /// <summary>Settings (relative to the ActorEvents section) that point a host at this database.</summary>
    public Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = ActorEventsTestHost.Settings(overrides);
        settings["Persistence:Provider"] = Provider;
        settings["Persistence:ConnectionString"] = ConnectionString;
        return settings;
    }

    /// <summary>Runs a scalar query.</summary>
    public long Scalar(string sql) => Convert.ToInt64(Run(sql, command => command.ExecuteScalar()), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs a statement (e.g. to set up a table as an earlier version left it).</summary>
    public void Execute(string sql) => Run(sql, command => command.ExecuteNonQuery());

    /// <summary>Runs a statement with parameters (<c>@name</c> in <paramref name="sql"/>), e.g. to insert rows an earlier version wrote.</summary>
    public void Execute(string sql, IReadOnlyDictionary<string, object?> parameters) => Run(sql, command =>
    {
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command.ExecuteNonQuery();
    });

    private T Run<T>(string sql, Func<DbCommand, T> run)
    {
        using DbConnection connection = sqlite is not null ? new SqliteConnection(ConnectionString) : new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return run(command);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        sqlite?.Dispose();
        postgres?.Dispose();
        _server?.Dispose();
    }
}
