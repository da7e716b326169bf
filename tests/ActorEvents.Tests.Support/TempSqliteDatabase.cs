using Microsoft.Data.Sqlite;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>A SQLite database file in the temp folder, unique per test, deleted (with its WAL files) on dispose.</summary>
public sealed class TempSqliteDatabase : IDisposable
{
    public TempSqliteDatabase()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actor-events-tests", $"{Guid.NewGuid():N}.db");
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Connection string for the ActorEvents persistence options and for direct queries.</summary>
    public string ConnectionString => $"Data Source={Path}";

    /// <summary>Runs a scalar query against the database (e.g. to count snapshot rows).</summary>
    public long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a query that returns one text value (e.g. a PRAGMA).</summary>
    public string? ScalarText(string sql)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }

    public void Dispose()
    {
        // Pooled connections keep the file open: release them before deleting.
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { Path, Path + "-wal", Path + "-shm", Path + "-journal" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // Best effort: a file still held by a finalizing connection is left in the temp folder.
            }
        }
    }
}
