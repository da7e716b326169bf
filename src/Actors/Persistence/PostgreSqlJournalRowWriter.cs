using Npgsql;
using NpgsqlTypes;

namespace ActorEvents.Actors.Persistence;

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
