using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace ActorEvents.Actors.Persistence;

/// <summary>Inserts the rows of many journal writes in one database transaction.</summary>
internal interface IJournalRowWriter : IAsyncDisposable
{
    /// <summary>
    /// Inserts every row of <paramref name="writes"/> and their tag rows, all or nothing. Throws
    /// <see cref="JournalWriteExpiredException"/> when the transaction could not begin (or its statement was cancelled)
    /// by <paramref name="deadline"/>, <see cref="JournalCommitUncertainException"/> when the batch was sent and its
    /// commit may or may not have happened, and any other exception when the transaction rolled back.
    /// </summary>
    /// <returns>The highest ordering the committed batch took (the journal's head as this write left it, at least).</returns>
    Task<long> InsertAsync(IReadOnlyList<JournalWrite> writes, DateTimeOffset deadline, CancellationToken cancellationToken);
}

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
            durability.CommandText = "PRAGMA synchronous=FULL;";
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

/// <summary>
/// PostgreSQL: one statement per batch (atomic on its own), the rows passed as arrays and inserted through
/// <c>unnest … WITH ORDINALITY</c> in write order, their tag rows inserted from the returned orderings in the same
/// statement, which answers the highest ordering taken: one round trip and one commit for the whole batch. Safe for concurrent batches (each takes its own
/// connection from the one data source).
/// </summary>
internal sealed class PostgreSqlJournalRowWriter : IJournalRowWriter
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly JournalTableLayout _layout;
    private readonly string _writerUuid;
    private readonly string _sql;

    public PostgreSqlJournalRowWriter(string connectionString, JournalTableLayout layout, string writerUuid)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _layout = layout;
        _writerUuid = writerUuid;
        _sql = BuildSql(layout);
    }

    public async Task<long> InsertAsync(IReadOnlyList<JournalWrite> writes, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var count = writes.Sum(w => w.Rows.Count);
        var created = new long[count];
        var persistenceIds = new string[count];
        var sequenceNrs = new long[count];
        var messages = new byte[count][];
        var manifests = new string[count];
        var serializerIds = new int[count];
        var tagsColumn = new string[count];
        var tagPersistenceIds = new List<string>();
        var tagSequenceNrs = new List<long>();
        var tagValues = new List<string>();
        var i = 0;
        foreach (var row in writes.SelectMany(w => w.Rows))
        {
            created[i] = row.Created;
            persistenceIds[i] = row.PersistenceId;
            sequenceNrs[i] = row.SequenceNr;
            messages[i] = row.Message;
            manifests[i] = row.Manifest;
            serializerIds[i] = row.SerializerId;
            tagsColumn[i] = _layout.WritesTagsColumn ? _layout.TagsColumnValue(row.Tags) : string.Empty;
            foreach (var tag in row.Tags)
            {
                tagPersistenceIds.Add(row.PersistenceId);
                tagSequenceNrs.Add(row.SequenceNr);
                tagValues.Add(tag);
            }

            i++;
        }

        NpgsqlConnection connection;
        try
        {
            connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            throw new JournalWriteRolledBackException($"The journal could not connect to PostgreSQL: nothing was written ({error.Message}).", error);
        }

        await using var _ = connection.ConfigureAwait(false);
        var backend = connection.ProcessID;
        await using var command = new NpgsqlCommand(_sql, connection);
        // The statement is cancelled by the server once the write's deadline passed (e.g. a table lock held): it then
        // rolls back, so nothing is written. Npgsql counts whole seconds.
        command.CommandTimeout = (int)Math.Clamp(Math.Ceiling((deadline - DateTimeOffset.UtcNow).TotalSeconds), 1, int.MaxValue);
        command.Parameters.Add(new NpgsqlParameter<long[]>("created", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = created });
        command.Parameters.Add(new NpgsqlParameter<string[]>("pid", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = persistenceIds });
        command.Parameters.Add(new NpgsqlParameter<long[]>("seq", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = sequenceNrs });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("message", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = messages });
        command.Parameters.Add(new NpgsqlParameter<string[]>("manifest", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = manifests });
        command.Parameters.Add(new NpgsqlParameter<int[]>("identifier", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = serializerIds });
        command.Parameters.Add(new NpgsqlParameter<string>("writer", NpgsqlDbType.Text) { TypedValue = _writerUuid });
        command.Parameters.Add(new NpgsqlParameter<string[]>("tags", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = tagsColumn });
        command.Parameters.Add(new NpgsqlParameter<string[]>("tag_pid", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. tagPersistenceIds] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("tag_seq", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. tagSequenceNrs] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("tag", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. tagValues] });
        object? highest;
        try
        {
            highest = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (ServerError(error) is { } server)
        {
            // The server answered with an error: the single statement (its own transaction) rolled back.
            throw server.SqlState == PostgresErrorCodes.QueryCanceled
                ? new JournalWriteExpiredException("PostgreSQL cancelled the statement at the write's deadline (a lock held too long)", error)
                : new JournalWriteRolledBackException($"PostgreSQL refused the journal's statement: nothing was written ({server.MessageText}).", error);
        }
        catch (Exception error)
        {
            // The connection broke while the statement ran: it may have committed. Read it back once the backend that ran it is gone.
            var first = writes[0].Rows[0];
            throw new JournalCommitUncertainException(error, token => IsWrittenAsync(backend, first, token));
        }

        return highest is long ordering ? ordering : 0;
    }

    private static PostgresException? ServerError(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is PostgresException server)
            {
                return server;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="row"/> is in the journal. Throws while the server process that ran the statement is
    /// still alive: until it ended, an absent row may still commit.
    /// </summary>
    private async Task<bool> IsWrittenAsync(int backend, PendingJournalRow row, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var alive = new NpgsqlCommand("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = @pid", connection))
        {
            alive.Parameters.AddWithValue("pid", backend);
            if ((long)(await alive.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0)
            {
                throw new InvalidOperationException($"The PostgreSQL backend {backend} that ran the write is still running.");
            }
        }

        var c = _layout.Columns;
        await using var query = new NpgsqlCommand($"SELECT COUNT(*) FROM {_layout.JournalTable} WHERE {c.PersistenceId} = @p AND {c.SequenceNumber} = @s", connection);
        query.Parameters.AddWithValue("p", row.PersistenceId);
        query.Parameters.AddWithValue("s", row.SequenceNr);
        return (long)(await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static string BuildSql(JournalTableLayout layout)
    {
        var c = layout.Columns;
        var columns = new List<string> { c.Created, c.Deleted, c.PersistenceId, c.SequenceNumber, c.Message, c.Manifest, c.Identifier };
        var values = new List<string> { "r.created", "false", "r.pid", "r.seq", "r.message", "r.manifest", "r.identifier" };
        if (layout.WritesWriterUuid)
        {
            columns.Add(c.WriterUuid);
            values.Add("@writer");
        }

        if (layout.WritesTagsColumn)
        {
            columns.Add(c.Tags);
            values.Add("r.tags");
        }

        // The transaction takes its id before its orderings (the join needs it before any row reaches the insert): a
        // reader that sees one of these orderings missing then finds this transaction in its snapshot's horizon until it
        // ends, which is what lets subscriptions judge a gap by the horizon (GapTracker) instead of waiting the timeout.
        var insertRows = $"""
            INSERT INTO {layout.JournalTable} ({string.Join(", ", columns)})
            SELECT {string.Join(", ", values)}
            FROM unnest(@created, @pid, @seq, @message, @manifest, @identifier, @tags) WITH ORDINALITY
                 AS r(created, pid, seq, message, manifest, identifier, tags, n)
            CROSS JOIN (SELECT pg_current_xact_id()) AS x(id)
            WHERE x.id IS NOT NULL
            ORDER BY r.n
            """;
        // The statement answers the highest ordering it took, so the node's subscriptions learn of the commit without a query.
        if (layout.TagTable is null)
        {
            return $"""
                WITH inserted AS (
                {insertRows}
                RETURNING {c.Ordering} AS ordering)
                SELECT MAX(ordering) FROM inserted
                """;
        }

        var (orderingId, tag, sequenceNumber, persistenceId) = layout.TagColumns;
        return $"""
            WITH inserted AS (
            {insertRows}
            RETURNING {c.Ordering} AS ordering, {c.PersistenceId} AS pid, {c.SequenceNumber} AS seq),
            tagged AS (
            INSERT INTO {layout.TagTable} ({orderingId}, {tag}, {sequenceNumber}, {persistenceId})
            SELECT inserted.ordering, t.tag, t.seq, t.pid
            FROM unnest(@tag_pid, @tag_seq, @tag) AS t(pid, seq, tag)
            JOIN inserted ON inserted.pid = t.pid AND inserted.seq = t.seq)
            SELECT MAX(ordering) FROM inserted
            """;
    }
}
