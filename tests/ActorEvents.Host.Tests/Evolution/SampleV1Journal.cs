using System.Text;
using System.Text.Json.Nodes;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Evolution;

/// <summary>
/// The journal the sample domain wrote before <c>order.placed</c> v2 (Fixtures/sample-v1-journal.json: its journal, tag and
/// snapshot rows as that version stored them), and the commands that wrote it.
/// </summary>
public static class SampleV1Journal
{
    /// <summary>The commands that wrote the fixture, in order (SnapshotEvery 4).</summary>
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        new AddStock("sku-a", 100),
        new PlaceOrder("o-1", "c-1", "sku-a", 2, 10.00m),
        new PlaceOrder("o-2", "c-2", "sku-a", 3, 4.50m),
        new PlaceOrder("o-3", "c-1", "sku-a", 1, 99.99m),
        new PlaceOrder("o-4", "c-3", "sku-a", 5, 2.00m),
        new PlaceOrder("o-5", "c-2", "sku-a", 4, 1.25m),
        new ProcessOrder("o-1"),
        new ShipOrder("o-1"),
        new CancelOrder("o-2", "changed their mind"),
        new ProcessOrder("o-4"),
        new ShipOrder("o-5"),
    ];

    private static JsonObject Fixture => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Evolution", "Fixtures", "sample-v1-journal.json")))!.AsObject();

    /// <summary>The stored journal messages (envelopes as JSON) of the fixture, in journal order.</summary>
    public static IReadOnlyList<JsonObject> Messages => [.. Fixture["journal"]!.AsArray().Select(r => r!["message"]!.AsObject())];

    /// <summary>
    /// Rows in the fixture's shape for <see cref="Insert"/>: one event each, of a name and version (newer, older or unknown to
    /// this code), its data as JSON, tagged with its aggregate type; orderings and sequence numbers as given.
    /// </summary>
    public static JsonObject Journal(params (long Ordering, string AggregateType, string AggregateId, long SequenceNr, string Type, int Version, string Data)[] rows)
    {
        var journal = new JsonArray();
        var tags = new JsonArray();
        foreach (var (ordering, aggregateType, aggregateId, sequenceNr, type, version, data) in rows)
        {
            var persistenceId = StreamNames.For(aggregateType, aggregateId);
            journal.Add(new JsonObject
            {
                ["ordering"] = ordering, ["created"] = 638_000_000_000_000_000L + ordering, ["persistence_id"] = persistenceId, ["sequence_number"] = sequenceNr,
                ["manifest"] = "ae.envelope", ["identifier"] = 4747, ["writer_uuid"] = "earlier",
                ["message"] = JsonNode.Parse($$$"""
                    {"eventId":"e{{{ordering}}}","eventType":"{{{type}}}","schemaVersion":{{{version}}},"occurredAt":"2025-01-02T03:04:05+00:00","sourceNode":"n",
                     "aggregateType":"{{{aggregateType}}}","aggregateId":"{{{aggregateId}}}","sequenceNr":{{{sequenceNr}}},"correlationId":"c{{{ordering}}}",
                     "causationId":"c{{{ordering}}}","originStream":null,"event":{"type":"{{{type}}}","version":{{{version}}},"data":{{{data}}}}}
                    """),
            });
            tags.Add(new JsonObject { ["ordering_id"] = ordering, ["tag"] = $"aggregate:{aggregateType}", ["sequence_nr"] = sequenceNr, ["persistence_id"] = persistenceId });
        }

        return new JsonObject { ["journal"] = journal, ["tags"] = tags, ["snapshot"] = new JsonArray() };
    }

    /// <summary>
    /// Inserts the fixture's rows into <paramref name="database"/>, whose journal tables exist (a host started on it once) and
    /// are empty; their orderings are kept, and PostgreSQL's ordering sequence moved past them.
    /// </summary>
    public static void Load(TestDatabase database) => Insert(database, Fixture);

    /// <summary>
    /// Inserts rows as an earlier version stored them: <paramref name="fixture"/> has the fixture file's shape (<c>journal</c>,
    /// <c>tags</c> and <c>snapshot</c> arrays of rows by column, each message or snapshot as the JSON it holds).
    /// </summary>
    public static void Insert(TestDatabase database, JsonObject fixture)
    {
        var overriding = database.Provider == PersistenceProviders.PostgreSql ? "OVERRIDING SYSTEM VALUE" : "";
        foreach (var row in fixture["journal"]!.AsArray().Select(r => r!.AsObject()))
        {
            database.Execute(
                $"INSERT INTO journal (ordering, created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) {overriding} "
                + "VALUES (@ordering, @created, @deleted, @persistence_id, @sequence_number, @message, @manifest, @identifier, @writer_uuid)",
                new Dictionary<string, object?>
                {
                    ["ordering"] = (long)row["ordering"]!, ["created"] = (long)row["created"]!, ["deleted"] = false,
                    ["persistence_id"] = (string)row["persistence_id"]!, ["sequence_number"] = (long)row["sequence_number"]!,
                    ["message"] = Encoding.UTF8.GetBytes(row["message"]!.ToJsonString()), ["manifest"] = (string)row["manifest"]!,
                    ["identifier"] = (int)row["identifier"]!, ["writer_uuid"] = (string)row["writer_uuid"]!,
                });
        }

        foreach (var row in fixture["tags"]!.AsArray().Select(r => r!.AsObject()))
        {
            database.Execute("INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES (@ordering_id, @tag, @sequence_nr, @persistence_id)",
                new Dictionary<string, object?>
                {
                    ["ordering_id"] = (long)row["ordering_id"]!, ["tag"] = (string)row["tag"]!, ["sequence_nr"] = (long)row["sequence_nr"]!,
                    ["persistence_id"] = (string)row["persistence_id"]!,
                });
        }

        if (database.Provider == PersistenceProviders.Sqlite)
        {
            // The plugin makes its SQLite snapshot table with the first snapshot: the same table, made now.
            database.Execute("""
                CREATE TABLE IF NOT EXISTS snapshot (persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL, created INTEGER NOT NULL,
                    snapshot BLOB, manifest TEXT, serializer_id INTEGER, PRIMARY KEY (persistence_id, sequence_number))
                """);
        }

        foreach (var row in fixture["snapshot"]!.AsArray().Select(r => r!.AsObject()))
        {
            database.Execute(
                "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id) "
                + "VALUES (@persistence_id, @sequence_number, @created, @snapshot, @manifest, @serializer_id)",
                new Dictionary<string, object?>
                {
                    ["persistence_id"] = (string)row["persistence_id"]!, ["sequence_number"] = (long)row["sequence_number"]!, ["created"] = (long)row["created"]!,
                    ["snapshot"] = Encoding.UTF8.GetBytes(row["snapshot"]!.ToJsonString()), ["manifest"] = (string)row["manifest"]!,
                    ["serializer_id"] = (int)row["serializer_id"]!,
                });
        }

        if (database.Provider == PersistenceProviders.PostgreSql)
        {
            database.Execute("SELECT setval(pg_get_serial_sequence('journal', 'ordering'), (SELECT MAX(ordering) FROM journal))");
        }
    }
}
