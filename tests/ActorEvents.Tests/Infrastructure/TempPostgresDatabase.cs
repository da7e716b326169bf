using Npgsql;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL database of its own for one test (created on the server of <c>ACTOREVENTS_TEST_POSTGRES</c>, dropped on
/// dispose), for tests that count everything in the journal or change its tables (triggers).
/// </summary>
public sealed class TempPostgresDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private TempPostgresDatabase(string admin, string name)
    {
        _admin = admin;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = false }.ToString();
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>Connection string of the database.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates a fresh database.</summary>
    public static async Task<TempPostgresDatabase> CreateAsync()
    {
        var admin = TestDatabases.PostgresConnectionString ?? throw new InvalidOperationException($"{TestDatabases.PostgresVariable} is not set.");
        var database = new TempPostgresDatabase(admin, $"test_{Guid.NewGuid():N}"[..20]);
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database.Name}", connection);
        await create.ExecuteNonQueryAsync();
        return database;
    }

    /// <summary>Opens a connection to the database.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs SQL.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a scalar query (0 for NULL).</summary>
    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync() is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
