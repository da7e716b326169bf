using ActorEvents.Actors.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorEvents.Actors.Storage;

/// <summary>The configured database's connection: its connection string, its linq2db provider, an embedded file made ready.</summary>
public static class StorageConnection
{
    /// <summary>Resolves the effective connection string and fails with a clear message when one is required and missing.</summary>
    public static string ConnectionStringOf(PersistenceOptions options) => StorageDialect.Of(options.Provider).ConnectionStringOf(options);

    /// <summary>The linq2db provider name for a provider.</summary>
    public static string Linq2DbProviderOf(string provider) => StorageDialect.Of(provider).Linq2DbProvider;

    /// <summary>
    /// Set on every SQLite connection of the runtime: a statement that finds the write lock taken waits inside SQLite (its
    /// busy handler sleeps 1, 2, 5, 10 … up to 100 ms between tries, for at most 1 s) instead of failing at once into
    /// Microsoft.Data.Sqlite's retry loop, which sleeps 150 ms between tries: a journal write behind a projection's short
    /// transaction then waits milliseconds, not 150.
    /// </summary>
    public const string SqliteBusyTimeoutPragma = "PRAGMA busy_timeout=1000;";

    /// <summary>
    /// Prepares an embedded SQLite database: creates its folder and switches it to write-ahead logging
    /// (durable with the default synchronous=FULL, and readers no longer block the writer).
    /// </summary>
    public static async Task PrepareSqliteAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.DataSource) || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
        {
            return;
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
