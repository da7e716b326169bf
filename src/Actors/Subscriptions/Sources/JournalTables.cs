using LinqToDB.Mapping;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>A row of Akka.Persistence.Sql's <c>journal</c> table (the default names the generated HOCON uses).</summary>
[Table("journal")]
internal sealed class JournalTableRow
{
    [Column("ordering"), PrimaryKey]
    public long Ordering { get; set; }

    [Column("persistence_id")]
    public string PersistenceId { get; set; } = string.Empty;

    [Column("sequence_number")]
    public long SequenceNumber { get; set; }

    [Column("created")]
    public long Created { get; set; }

    [Column("deleted")]
    public bool Deleted { get; set; }

    [Column("message")]
    public byte[] Message { get; set; } = [];

    [Column("manifest")]
    public string Manifest { get; set; } = string.Empty;

    [Column("identifier")]
    public int Identifier { get; set; }
}

/// <summary>A row of Akka.Persistence.Sql's <c>tags</c> table.</summary>
[Table("tags")]
internal sealed class TagTableRow
{
    [Column("ordering_id")]
    public long OrderingId { get; set; }

    [Column("tag")]
    public string Tag { get; set; } = string.Empty;
}
