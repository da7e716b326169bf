using Microsoft.Data.Sqlite;

namespace ActorEvents.Actors.Storage;

// ActorEvents' own tables on SQLite (the journal's tables are the plugin's: it creates them there itself).
public static partial class DatabaseSchema
{
    // The shapes linq2db created for these tables in earlier versions, so a database made by either reads the same.
    private const string SqliteSchema = $"""
        CREATE TABLE IF NOT EXISTS [ae_dead_letters]
        (
            [id]               INTEGER         NOT NULL PRIMARY KEY AUTOINCREMENT,
            [handler]          NVarChar(200)   NOT NULL,
            [event_id]         NVarChar(64)    NOT NULL,
            [event_type]       NVarChar(200)   NOT NULL,
            [aggregate_type]   NVarChar(200)   NOT NULL,
            [aggregate_id]     NVarChar(1024)  NOT NULL,
            [sequence_nr]      INTEGER         NOT NULL,
            [envelope]         Text            NOT NULL,
            [error_type]       NVarChar(500)   NOT NULL,
            [error_message]    Text            NOT NULL,
            [stack_trace]      Text                NULL,
            [attempts]         INTEGER         NOT NULL,
            [first_failure_at] DateTime2       NOT NULL,
            [last_failure_at]  DateTime2       NOT NULL,
            [resolving_until]  DateTime2           NULL
        );
        {ParkedFollowerRows.SqliteTable}
        CREATE TABLE IF NOT EXISTS [ae_checkpoints]
        (
            [subscription] NVarChar(200) NOT NULL,
            [position]     INTEGER       NOT NULL,
            [paused]       Bit           NOT NULL,
            [updated_at]   DateTime2     NOT NULL,
            CONSTRAINT [PK_ae_checkpoints] PRIMARY KEY ([subscription])
        );
        CREATE TABLE IF NOT EXISTS [ae_processed_events]
        (
            [handler]        NVarChar(200) NOT NULL,
            [event_id]       NVarChar(64)  NOT NULL,
            [processed_at]   DateTime2     NOT NULL,
            [redeliveries]   INTEGER       NOT NULL,
            [persistence_id] Text              NULL,
            [sequence_nr]    INTEGER           NULL,
            [causation_id]   Text              NULL,
            [follow_ups]     Text              NULL,
            CONSTRAINT [PK_ae_processed_events] PRIMARY KEY ([handler], [event_id])
        );
        """;

    // Columns a table of an earlier version lacks: (table, column, type).
    private static readonly (string Table, string Column, string Type)[] SqliteAddedColumns =
    [
        ("ae_dead_letters", "resolving_until", "TEXT"),
        ("ae_processed_events", "persistence_id", "TEXT"),
        ("ae_processed_events", "sequence_nr", "INTEGER"),
        ("ae_processed_events", "causation_id", "TEXT"),
        ("ae_processed_events", "follow_ups", "TEXT"),
    ];

    /// <summary>
    /// Creates ActorEvents' tables on SQLite and brings a database of an earlier version up to date (columns added since;
    /// parked followers kept as a JSON array moved into rows, the column dropped), in one transaction.
    /// </summary>
    internal static async Task CreateSqliteTablesAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await DbCommands.ExecuteAsync(connection, null, StorageConnection.SqliteBusyTimeoutPragma, cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await DbCommands.ExecuteAsync(connection, transaction, SqliteSchema, cancellationToken).ConfigureAwait(false);
        foreach (var (table, column, type) in SqliteAddedColumns)
        {
            if (!await HasColumnAsync(connection, transaction, table, column, cancellationToken).ConfigureAwait(false))
            {
                await DbCommands.ExecuteAsync(connection, transaction, $"ALTER TABLE {table} ADD COLUMN {column} {type} NULL", cancellationToken).ConfigureAwait(false);
            }
        }

        await DbCommands.ExecuteAsync(connection, transaction, "CREATE INDEX IF NOT EXISTS ae_processed_events_event_id_idx ON ae_processed_events (event_id)", cancellationToken)
            .ConfigureAwait(false);
        if (await HasColumnAsync(connection, transaction, "ae_dead_letters", "parked_followers", cancellationToken).ConfigureAwait(false))
        {
            await ParkedFollowerRows.MoveLegacyFollowersAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await DbCommands.ExecuteAsync(connection, transaction, "ALTER TABLE ae_dead_letters DROP COLUMN parked_followers", cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> HasColumnAsync(SqliteConnection connection, SqliteTransaction transaction, string table, string column, CancellationToken cancellationToken)
    {
        await using var command = DbCommands.Create(connection, transaction, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = @column").With("column", column);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
    }
}
