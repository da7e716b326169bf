using Akka.Configuration;
using Akka.Persistence.Sql.Config;

namespace ActorEvents.Actors.Persistence;

/// <summary>
/// Where and how journal rows are written, read from the same Akka.Persistence.Sql configuration the plugin's
/// reads use (table mapping, column names, schema, tag mode), so rows written by <see cref="GroupCommitSqlJournal"/>
/// are exactly the rows Akka.Persistence.Sql replays and queries.
/// </summary>
internal sealed record JournalTableLayout
{
    /// <summary>Schema-qualified, quoted journal table.</summary>
    public required string JournalTable { get; init; }

    /// <summary>Quoted journal columns, in the order <see cref="PendingJournalRow"/> binds them.</summary>
    public required JournalColumns Columns { get; init; }

    /// <summary>Schema-qualified, quoted tag table, or null when tags are written only as a separated string.</summary>
    public required string? TagTable { get; init; }

    /// <summary>Quoted tag-table columns (ordering id, tag, sequence number, persistence id).</summary>
    public required (string OrderingId, string Tag, string SequenceNumber, string PersistenceId) TagColumns { get; init; }

    /// <summary>Whether the journal's own tags column is written (<see cref="TagMode.Csv"/> and <see cref="TagMode.Both"/>).</summary>
    public required bool WritesTagsColumn { get; init; }

    /// <summary>Separator of the tags column (Akka.Persistence.Sql writes <c>;a;b;</c>).</summary>
    public required string TagSeparator { get; init; }

    /// <summary>Whether the writer UUID column exists.</summary>
    public required bool WritesWriterUuid { get; init; }

    /// <summary>Reads the layout of a journal plugin's configuration.</summary>
    /// <exception cref="ConfigurationException">The mapping uses a feature the group-commit writer does not write.</exception>
    public static JournalTableLayout From(JournalConfig config)
    {
        var tables = config.TableConfig;
        if (tables.UseEventManifestColumn)
        {
            throw new ConfigurationException(
                $"{nameof(GroupCommitSqlJournal)} does not write the event manifest column: set use-event-manifest-column = off, or use Akka.Persistence.Sql's SqlWriteJournal.");
        }

        var tagMode = config.PluginConfig.TagMode;
        var journal = tables.EventJournalTable;
        var names = journal.ColumnNames;
        var tagNames = tables.TagTable.ColumnNames;
        return new JournalTableLayout
        {
            JournalTable = Qualified(tables.SchemaName, journal.Name),
            Columns = new JournalColumns(
                Quote(names.Ordering), Quote(names.Created), Quote(names.Deleted), Quote(names.PersistenceId), Quote(names.SequenceNumber),
                Quote(names.Message), Quote(names.Manifest), Quote(names.Identifier), Quote(names.WriterUuid), Quote(names.Tags)),
            TagTable = tagMode == TagMode.Csv ? null : Qualified(tables.SchemaName, tables.TagTable.Name),
            TagColumns = (Quote(tagNames.OrderingId), Quote(tagNames.Tag), Quote(tagNames.SequenceNumber), Quote(tagNames.PersistenceId)),
            WritesTagsColumn = tagMode != TagMode.TagTable,
            TagSeparator = config.PluginConfig.TagSeparator,
            WritesWriterUuid = journal.UseWriterUuidColumn,
        };
    }

    /// <summary>The columns an INSERT of a journal row names, in binding order (ordering is generated).</summary>
    public IReadOnlyList<string> InsertColumns()
    {
        var columns = new List<string> { Columns.Created, Columns.Deleted, Columns.PersistenceId, Columns.SequenceNumber, Columns.Message, Columns.Manifest, Columns.Identifier };
        if (WritesWriterUuid)
        {
            columns.Add(Columns.WriterUuid);
        }

        if (WritesTagsColumn)
        {
            columns.Add(Columns.Tags);
        }

        return columns;
    }

    /// <summary>The tags column's value for a row's tags (empty when it has none).</summary>
    public string TagsColumnValue(IReadOnlyList<string> tags) =>
        tags.Count == 0 ? string.Empty : TagSeparator + string.Join(TagSeparator, tags) + TagSeparator;

    private static string Qualified(string? schema, string table) =>
        string.IsNullOrWhiteSpace(schema) ? Quote(table) : $"{Quote(schema)}.{Quote(table)}";

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>Quoted journal column names.</summary>
internal sealed record JournalColumns(
    string Ordering, string Created, string Deleted, string PersistenceId, string SequenceNumber,
    string Message, string Manifest, string Identifier, string WriterUuid, string Tags);

/// <summary>One serialized event, ready to insert.</summary>
/// <param name="Created">Creation time in ticks (the representation's timestamp, or the write time).</param>
/// <param name="PersistenceId">Persistence id.</param>
/// <param name="SequenceNr">Sequence number.</param>
/// <param name="Message">Serialized payload.</param>
/// <param name="Manifest">Serializer manifest.</param>
/// <param name="SerializerId">Serializer identifier.</param>
/// <param name="Tags">Tags (from <see cref="Akka.Persistence.Journal.Tagged"/>).</param>
internal sealed record PendingJournalRow(long Created, string PersistenceId, long SequenceNr, byte[] Message, string Manifest, int SerializerId, IReadOnlyList<string> Tags);
