using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace ActorEvents.Actors.Persistence;

/// <summary>Inserts the rows of many journal writes in one database transaction.</summary>
internal interface IJournalRowWriter : IAsyncDisposable
{
    /// <summary>Inserts every row of <paramref name="writes"/> and their tag rows, all or nothing.</summary>
    Task InsertAsync(IReadOnlyList<JournalWrite> writes, CancellationToken cancellationToken);
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

    public Task InsertAsync(IReadOnlyList<JournalWrite> writes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var (connection, insertRow, insertTag) = Prepared();
            using var transaction = connection.BeginTransaction(deferred: false);
            insertRow.Transaction = transaction;
            if (insertTag is not null)
            {
                insertTag.Transaction = transaction;
            }

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

            transaction.Commit();
            return Task.CompletedTask;
        }
        catch
        {
            // Start the next batch on a fresh connection: nothing of a failed transaction may linger.
            Close();
            throw;
        }
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

    private void Close()
    {
        _insertRow?.Dispose();
        _insertTag?.Dispose();
        _connection?.Dispose();
        (_connection, _insertRow, _insertTag) = (null, null, null);
    }
}

/// <summary>
/// PostgreSQL: one statement per batch (atomic on its own), the rows passed as arrays and inserted through
/// <c>unnest … WITH ORDINALITY</c> in write order, their tag rows inserted from the returned orderings in the same
/// statement: one round trip and one commit for the whole batch. Safe for concurrent batches (each takes its own
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

    public async Task InsertAsync(IReadOnlyList<JournalWrite> writes, CancellationToken cancellationToken)
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

        await using var command = _dataSource.CreateCommand(_sql);
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
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

        var insertRows = $"""
            INSERT INTO {layout.JournalTable} ({string.Join(", ", columns)})
            SELECT {string.Join(", ", values)}
            FROM unnest(@created, @pid, @seq, @message, @manifest, @identifier, @tags) WITH ORDINALITY
                 AS r(created, pid, seq, message, manifest, identifier, tags, n)
            ORDER BY r.n
            """;
        if (layout.TagTable is null)
        {
            return insertRows;
        }

        var (orderingId, tag, sequenceNumber, persistenceId) = layout.TagColumns;
        return $"""
            WITH inserted AS (
            {insertRows}
            RETURNING {c.Ordering} AS ordering, {c.PersistenceId} AS pid, {c.SequenceNumber} AS seq)
            INSERT INTO {layout.TagTable} ({orderingId}, {tag}, {sequenceNumber}, {persistenceId})
            SELECT inserted.ordering, t.tag, t.seq, t.pid
            FROM unnest(@tag_pid, @tag_seq, @tag) AS t(pid, seq, tag)
            JOIN inserted ON inserted.pid = t.pid AND inserted.seq = t.seq
            """;
    }
}
