using System.Data.Common;
using System.Globalization;
using ActorEvents.Actors.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// The database a host process runs on, owned by one test: a temp SQLite file, or a fresh PostgreSQL database created
/// for the test (next to the one <c>ACTOREVENTS_TEST_POSTGRES</c> names) and dropped on dispose, so the journal holds
/// that test's events alone. Queries go through plain ADO.NET on either provider.
/// </summary>
public sealed class ProcessDatabase : IDisposable
{
    /// <summary>Keeps a test stopping the PostgreSQL server away while this database exists.</summary>
    private IDisposable? _server;

    private readonly TempSqliteDatabase? _sqlite;
    private readonly string? _postgresAdmin;
    private readonly string? _postgresName;

    private ProcessDatabase(string provider, string connectionString, TempSqliteDatabase? sqlite, string? postgresAdmin, string? postgresName)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _sqlite = sqlite;
        _postgresAdmin = postgresAdmin;
        _postgresName = postgresName;
    }

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    public string Provider { get; }

    /// <summary>The connection string the host and the checks use.</summary>
    public string ConnectionString { get; }

    /// <summary>The SQLite file (null on PostgreSQL).</summary>
    public string? SqlitePath => _sqlite?.Path;

    /// <summary>The PostgreSQL database name (null on SQLite).</summary>
    public string? PostgresDatabase => _postgresName;

    /// <summary>A temp SQLite file.</summary>
    public static ProcessDatabase Sqlite()
    {
        var file = new TempSqliteDatabase();
        Directory.CreateDirectory(Path.GetDirectoryName(file.Path)!);
        return new ProcessDatabase(PersistenceProviders.Sqlite, file.ConnectionString, file, null, null);
    }

    /// <summary>A database of its own on the PostgreSQL server of <c>ACTOREVENTS_TEST_POSTGRES</c> (which must be set).</summary>
    public static ProcessDatabase Postgres(string prefix)
    {
        var admin = TestDatabases.PostgresConnectionString ?? throw new InvalidOperationException($"{TestDatabases.PostgresVariable} is not set.");
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        var server = PostgresServerLock.Use();
        try
        {
            using var connection = new NpgsqlConnection(admin);
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            create.ExecuteNonQuery();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
        return new ProcessDatabase(PersistenceProviders.PostgreSql, connectionString, null, admin, name) { _server = server };
    }

    /// <summary>An open connection.</summary>
    public DbConnection Open()
    {
        DbConnection connection = _sqlite is not null ? new SqliteConnection(ConnectionString) : new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Runs a query and maps every row.</summary>
    public List<T> Rows<T>(string sql, Func<DbDataReader, T> read)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Runs a scalar query.</summary>
    public long Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Whether a table exists.</summary>
    public bool HasTable(string table) => Scalar(_sqlite is not null
        ? $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        : $"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'") > 0;

    public void Dispose()
    {
        _sqlite?.Dispose();
        if (_postgresName is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            using var connection = new NpgsqlConnection(_postgresAdmin);
            connection.Open();
            using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresName} WITH (FORCE)", connection);
            drop.ExecuteNonQuery();
        }
        catch (NpgsqlException)
        {
            // Best effort: a database left behind holds one test's rows and nothing else.
        }
        finally
        {
            _server?.Dispose();
        }
    }
}
