using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>
/// Writes journal-shaped rows (the columns and indexes of Akka.Persistence.Sql's <c>journal</c> table plus a
/// <c>tags</c> column) into a separate <c>bench_journal</c> table with plain ADO.NET: one connection, one
/// prepared statement, <see cref="RowsPerTransaction"/> rows per transaction. The physical limit of the database.
/// </summary>
internal sealed class CeilingWriter : IAsyncDisposable
{
    public const int RowsPerTransaction = 100;

    private const string Manifest = "ae.envelope";
    private const string Tags = ";aggregate:bench;event:bench.emitted;";

    private readonly DbConnection _connection;
    private readonly BenchDatabase _kind;
    private readonly byte[] _payload;
    private readonly string[] _persistenceIds;
    private readonly long[] _sequenceNrs;
    private readonly string _writerUuid = Guid.NewGuid().ToString("N");
    private readonly int _rowsPerId;
    private SqliteCommand? _sqliteInsert;
    private long _next;

    private CeilingWriter(DbConnection connection, BenchDatabase kind, byte[] payload, int aggregates, int rowsPerId)
    {
        _connection = connection;
        _kind = kind;
        _payload = payload;
        _persistenceIds = Enumerable.Range(0, aggregates).Select(i => $"bench-a{i}").ToArray();
        _sequenceNrs = new long[aggregates];
        _rowsPerId = rowsPerId;
    }

    public static async Task<CeilingWriter> CreateAsync(BenchDb db, byte[] payload, int aggregates, int rowsPerCommand, CancellationToken cancellationToken)
    {
        DbConnection connection;
        string[] ddl;
        if (db.Kind == BenchDatabase.Sqlite)
        {
            // The runtime switches the file to write-ahead logging before Akka opens it: do the same.
            await StorageConnection.PrepareSqliteAsync(db.ConnectionString, cancellationToken).ConfigureAwait(false);
            connection = new SqliteConnection(db.ConnectionString);
            ddl =
            [
                """
                CREATE TABLE IF NOT EXISTS bench_journal (
                  ordering INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
                  created INTEGER NOT NULL,
                  deleted Bit NOT NULL,
                  persistence_id NVarChar(255) NOT NULL,
                  sequence_number INTEGER NOT NULL,
                  message VarBinary NOT NULL,
                  manifest NVarChar(500) NULL,
                  identifier INTEGER NULL,
                  writer_uuid NVarChar(128) NULL,
                  tags NVarChar(100) NULL)
                """,
                "CREATE UNIQUE INDEX IF NOT EXISTS bench_journal_uq ON bench_journal (persistence_id, sequence_number)",
                "CREATE INDEX IF NOT EXISTS bench_journal_created_idx ON bench_journal (created)",
                "CREATE INDEX IF NOT EXISTS bench_journal_sequence_number_idx ON bench_journal (sequence_number)",
            ];
        }
        else if (db.Kind == BenchDatabase.Postgres)
        {
            connection = new NpgsqlConnection(db.ConnectionString);
            ddl =
            [
                """
                CREATE TABLE IF NOT EXISTS bench_journal (
                  ordering BIGSERIAL NOT NULL PRIMARY KEY,
                  created BIGINT NOT NULL,
                  deleted BOOLEAN NOT NULL,
                  persistence_id VARCHAR(255) NOT NULL,
                  sequence_number BIGINT NOT NULL,
                  message BYTEA NOT NULL,
                  manifest VARCHAR(500) NULL,
                  identifier INTEGER NULL,
                  writer_uuid VARCHAR(128) NULL,
                  tags VARCHAR(100) NULL)
                """,
                "CREATE UNIQUE INDEX IF NOT EXISTS bench_journal_uq ON bench_journal (persistence_id, sequence_number)",
                "CREATE INDEX IF NOT EXISTS bench_journal_created_idx ON bench_journal (created)",
                "CREATE INDEX IF NOT EXISTS bench_journal_sequence_number_idx ON bench_journal (sequence_number)",
            ];
        }
        else
        {
            throw new InvalidOperationException("The ceiling needs a database: there is none for the in-memory journal.");
        }

        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in ddl)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return new CeilingWriter(connection, db.Kind, payload, aggregates, rowsPerCommand);
    }

    /// <summary>Writes one transaction of <see cref="RowsPerTransaction"/> rows.</summary>
    public Task WriteBatchAsync(CancellationToken cancellationToken) =>
        _kind == BenchDatabase.Sqlite ? WriteSqliteAsync(cancellationToken) : WritePostgresAsync(cancellationToken);

    private (string PersistenceId, long SequenceNr) NextRow()
    {
        // Consecutive "commands" of rowsPerId rows go to consecutive persistence ids, like callers spread over aggregates.
        var row = _next++;
        var id = (int)(row / _rowsPerId % _persistenceIds.Length);
        return (_persistenceIds[id], ++_sequenceNrs[id]);
    }

    private async Task WriteSqliteAsync(CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)_connection;
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var insert = _sqliteInsert ??= CreateSqliteInsert(connection);
        insert.Transaction = transaction;
        var created = DateTime.UtcNow.Ticks;
        for (var i = 0; i < RowsPerTransaction; i++)
        {
            var (persistenceId, sequenceNr) = NextRow();
            insert.Parameters[0].Value = created;
            insert.Parameters[1].Value = persistenceId;
            insert.Parameters[2].Value = sequenceNr;
            insert.Parameters[3].Value = _payload;
            insert.ExecuteNonQuery();
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private SqliteCommand CreateSqliteInsert(SqliteConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText =
            "INSERT INTO bench_journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid, tags) " +
            $"VALUES ($created, 0, $pid, $seq, $message, '{Manifest}', 4747, '{_writerUuid}', '{Tags}')";
        command.Parameters.Add("$created", SqliteType.Integer);
        command.Parameters.Add("$pid", SqliteType.Text);
        command.Parameters.Add("$seq", SqliteType.Integer);
        command.Parameters.Add("$message", SqliteType.Blob);
        command.Prepare();
        return command;
    }

    private async Task WritePostgresAsync(CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)_connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var created = DateTime.UtcNow.Ticks;
        for (var i = 0; i < RowsPerTransaction; i++)
        {
            var (persistenceId, sequenceNr) = NextRow();
            var command = new NpgsqlBatchCommand(
                "INSERT INTO bench_journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid, tags) " +
                "VALUES ($1, false, $2, $3, $4, $5, 4747, $6, $7)");
            command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = created });
            command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Varchar, TypedValue = persistenceId });
            command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = sequenceNr });
            command.Parameters.Add(new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = _payload });
            command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Varchar, TypedValue = Manifest });
            command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Varchar, TypedValue = _writerUuid });
            command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Varchar, TypedValue = Tags });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sqliteInsert is not null)
        {
            await _sqliteInsert.DisposeAsync().ConfigureAwait(false);
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
