using ActorEvents.Actors.Storage;
using Microsoft.Data.Sqlite;

namespace ActorEvents.Actors.Persistence;

/// <summary>
/// SQLite: one long-lived connection (so one transaction at a time: never give it more than one writer loop) with prepared statements, <c>BEGIN IMMEDIATE</c> per batch, a row insert returning
/// its ordering, the tag rows, one commit (one WAL sync with the default <c>synchronous=FULL</c>).
/// </summary>
internal sealed class SqliteJournalRowWriter(string connectionString, JournalTableLayout layout, string writerUuid) : IJournalRowWriter
{
    private SqliteConnection? _connection;
    private SqliteCommand? _insertRow;
    private SqliteCommand? _insertTag;

    private SqliteCommand? _begin;
    private SqliteCommand? _commit;
    private SqliteCommand? _rollback;

    public Task<long> InsertAsync(IReadOnlyList<JournalWrite> writes, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var committing = false;
        var highest = 0L;
        try
        {
            var (connection, insertRow, insertTag) = Prepared();
            BeginImmediate(deadline);

            foreach (var write in writes)
            {
                foreach (var row in write.Rows)
                {
                    var parameters = insertRow.Parameters;
                    parameters[0].Value = row.Created;
                    parameters[1].Value = false;
                    parameters[2].Value = row.PersistenceId;
                    parameters[3].Value = row.SequenceNr;
                    parameters[4].Value = row.Message;
                    parameters[5].Value = row.Manifest;
                    parameters[6].Value = row.SerializerId;
                    var next = 7;
                    if (layout.WritesWriterUuid)
                    {
                        parameters[next++].Value = writerUuid;
                    }

                    if (layout.WritesTagsColumn)
                    {
                        parameters[next].Value = layout.TagsColumnValue(row.Tags);
                    }

                    var ordering = (long)insertRow.ExecuteScalar()!;
                    highest = Math.Max(highest, ordering);
                    if (insertTag is null)
                    {
                        continue;
                    }

                    foreach (var tag in row.Tags)
                    {
                        insertTag.Parameters[0].Value = ordering;
                        insertTag.Parameters[1].Value = tag;
                        insertTag.Parameters[2].Value = row.SequenceNr;
                        insertTag.Parameters[3].Value = row.PersistenceId;
                        insertTag.ExecuteNonQuery();
                    }
                }
            }

            committing = true;
            _commit!.ExecuteNonQuery();
            return Task.FromResult(highest);
        }
        catch (Exception error) when (committing)
        {
            // COMMIT itself failed: roll back whatever is not committed; whether it was committed is read back.
            RollBackAndClose();
            var first = writes[0].Rows[0];
            throw new JournalCommitUncertainException(error, _ => Task.FromResult(IsWritten(first)));
        }
        catch
        {
            // Start the next batch on a fresh connection: nothing of a failed transaction may linger.
            RollBackAndClose();
            throw;
        }
    }

    /// <summary>
    /// Takes SQLite's write lock (<c>BEGIN IMMEDIATE</c>), waiting for another writer until <paramref name="deadline"/>;
    /// past it the batch fails as not written. Microsoft.Data.Sqlite retries a busy statement for its CommandTimeout
    /// (whole seconds), so the wait is taken one second at a time.
    /// </summary>
    private void BeginImmediate(DateTimeOffset deadline)
    {
        while (true)
        {
            try
            {
                _begin!.ExecuteNonQuery();
                return;
            }
            catch (SqliteException busy) when (busy.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    throw new JournalWriteExpiredException("another connection held the database's write lock", busy);
                }
            }
        }
    }

    private bool IsWritten(PendingJournalRow row)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var query = connection.CreateCommand();
        query.CommandText = $"SELECT COUNT(*) FROM {layout.JournalTable} WHERE {layout.Columns.PersistenceId} = $p AND {layout.Columns.SequenceNumber} = $s";
        query.Parameters.AddWithValue("$p", row.PersistenceId);
        query.Parameters.AddWithValue("$s", row.SequenceNr);
        return (long)query.ExecuteScalar()! > 0;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private (SqliteConnection, SqliteCommand, SqliteCommand?) Prepared()
    {
        if (_connection is not null)
        {
            return (_connection, _insertRow!, _insertTag);
        }

        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using (var durability = connection.CreateCommand())
        {
            // Explicit, whatever the SQLite build's default: a commit returns only once the WAL is synced to disk.
            // And a busy lock is waited for inside SQLite, in steps of 1 to 100 ms, not in Microsoft.Data.Sqlite's 150 ms sleeps.
            durability.CommandText = $"PRAGMA synchronous=FULL; {StorageConnection.SqliteBusyTimeoutPragma}";
            durability.ExecuteNonQuery();
        }

        _begin = Statement(connection, "BEGIN IMMEDIATE;");
        _commit = Statement(connection, "COMMIT;");
        _rollback = Statement(connection, "ROLLBACK;");
        var columns = layout.InsertColumns();
        var insertRow = connection.CreateCommand();
        insertRow.CommandText =
            $"INSERT INTO {layout.JournalTable} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => $"$p{i}"))}) RETURNING {layout.Columns.Ordering}";
        for (var i = 0; i < columns.Count; i++)
        {
            insertRow.Parameters.Add(new SqliteParameter($"$p{i}", null));
        }

        insertRow.Prepare();

        // Tag rows only where the tag mode keeps a tag table (TagTable, Both); Csv writes the tags column alone.
        SqliteCommand? insertTag = null;
        if (layout.TagTable is not null)
        {
            var (orderingId, tag, sequenceNumber, persistenceId) = layout.TagColumns;
            insertTag = connection.CreateCommand();
            insertTag.CommandText = $"INSERT INTO {layout.TagTable} ({orderingId}, {tag}, {sequenceNumber}, {persistenceId}) VALUES ($o, $t, $s, $p)";
            foreach (var name in new[] { "$o", "$t", "$s", "$p" })
            {
                insertTag.Parameters.Add(new SqliteParameter(name, null));
            }

            insertTag.Prepare();
        }

        (_connection, _insertRow, _insertTag) = (connection, insertRow, insertTag);
        return (connection, insertRow, insertTag);
    }

    private void RollBackAndClose()
    {
        try
        {
            // The transaction was begun with raw SQL: end it before the connection goes back to the pool.
            _rollback?.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // No transaction was active (BEGIN failed, or COMMIT ended it).
        }

        Close();
    }

    private static SqliteCommand Statement(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 1; // seconds of busy retries per attempt (BeginImmediate loops until its deadline)
        return command;
    }

    private void Close()
    {
        _begin?.Dispose();
        _commit?.Dispose();
        _rollback?.Dispose();
        (_begin, _commit, _rollback) = (null, null, null);
        _insertRow?.Dispose();
        _insertTag?.Dispose();
        _connection?.Dispose();
        (_connection, _insertRow, _insertTag) = (null, null, null);
    }
}
