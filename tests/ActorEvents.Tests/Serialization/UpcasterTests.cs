using System.Text.Json;
using System.Text.Json.Nodes;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Serialization;

/// <summary>Upcasters: chains of typed and raw JSON steps, splits and drops, and the registration errors that fail at start-up.</summary>
public sealed class UpcasterTests
{
    private static ActorEventsDomainBuilder Domain() => new ActorEventsDomainBuilder()
        .AddMessageType<Renamed>()
        .AddMessageType<SplitFirst>()
        .AddMessageType<SplitSecond>()
        .AddMessageType<Dropped>()
        .AddMessageType<Compatible>();

    /// <summary>v1 → v2 typed, v2 → v3 raw JSON; v1 of split-first splits in two; v1 of dropped makes nothing.</summary>
    private static readonly MessageTypeRegistry Registry = Domain()
        .Upcast<RenamedV1, RenamedV2>(v1 => new RenamedV2($"{v1.First} {v1.Last}"))
        .UpcastJson("test.renamed", 2, data =>
        {
            var parts = ((string)data["fullName"]!).Split(' ');
            return new JsonObject { ["given"] = parts[0], ["family"] = parts[1] };
        })
        .UpcastToMany<SplitV1>(v1 => [new SplitFirst(v1.A), new SplitSecond(v1.B)])
        .UpcastJsonToMany("test.dropped", 1, _ => [])
        .Build().Types;

    private static readonly JsonSerializerOptions Strict = ActorEventsSerializer.CreateOptions(Registry);
    private static readonly JsonSerializerOptions Tolerant = ActorEventsSerializer.CreateOptions(Registry, tolerant: true);

    private static string Stored(string type, int version, string data) =>
        $$$"""{"eventId":"0198a","eventType":"{{{type}}}","schemaVersion":{{{version}}},"occurredAt":"2025-01-02T03:04:05+00:00","sourceNode":"n","aggregateType":"test","aggregateId":"t-1","sequenceNr":7,"correlationId":"c","causationId":"cmd","originStream":null,"event":{"type":"{{{type}}}","version":{{{version}}},"data":{{{data}}}}}""";

    private static IReadOnlyList<EventEnvelope> Read(string json, JsonSerializerOptions? options = null) =>
        Registry.Upcasters.Upcast(JsonSerializer.Deserialize<EventEnvelope>(json, options ?? Strict)!);

    [Fact]
    public void Should_compose_a_typed_and_a_raw_step_into_the_newest_version()
    {
        var envelope = Assert.Single(Read(Stored("test.renamed", 1, """{"first":"Ada","last":"Lovelace"}""")));

        Assert.Equal(new Renamed("Ada", "Lovelace"), envelope.Event);
        Assert.Equal(("test.renamed", 3, "0198a", 7L), (envelope.EventType, envelope.SchemaVersion, envelope.EventId, envelope.SequenceNr));
        Assert.Equal(new Renamed("Grace", "Hopper"), Assert.Single(Read(Stored("test.renamed", 2, """{"fullName":"Grace Hopper"}"""))).Event);
        Assert.Equal(new Renamed("Alan", "Turing"), Assert.Single(Read(Stored("test.renamed", 3, """{"given":"Alan","family":"Turing"}"""))).Event);
    }

    [Fact]
    public void Should_split_one_stored_event_into_envelopes_that_share_its_place_with_stable_ids()
    {
        var envelopes = Read(Stored("test.split-first", 1, """{"a":"left","b":"right"}"""));

        Assert.Equal([new SplitFirst("left"), new SplitSecond("right")], envelopes.Select(e => e.Event));
        Assert.Equal(["0198a", "0198a.1"], envelopes.Select(e => e.EventId));
        Assert.Equal([("test.split-first", 2), ("test.split-second", 1)], envelopes.Select(e => (e.EventType, e.SchemaVersion)));
        Assert.All(envelopes, e => Assert.Equal((7L, "cmd"), (e.SequenceNr, e.CausationId)));
    }

    [Fact]
    public void Should_drop_an_event_its_upcaster_makes_nothing_of()
    {
        Assert.Empty(Read(Stored("test.dropped", 1, """{"x":"obsolete"}""")));
        Assert.Equal(new Dropped("kept"), Assert.Single(Read(Stored("test.dropped", 2, """{"x":"kept"}"""))).Event);
    }

    [Fact]
    public void Should_read_a_version_older_than_any_upcaster_straight_into_the_current_type()
    {
        // test.compatible is v2 without upcasters: its v1 rows differ only by an optional property.
        var envelope = Assert.Single(Read(Stored("test.compatible", 1, """{"name":"n"}""")));

        Assert.Equal((new Compatible("n"), 2), (envelope.Event, envelope.SchemaVersion));
    }

    [Fact]
    public void Should_refuse_a_version_newer_than_this_node_knows_and_keep_it_raw_when_reading_tolerantly()
    {
        var json = Stored("test.renamed", 4, """{"given":"A","family":"B","middle":"C"}""");

        var error = Assert.Throws<JsonException>(() => Read(json));
        Assert.Contains("'test.renamed' v4 is newer than the v3 this node knows", error.Message, StringComparison.Ordinal);

        var undecodable = Assert.IsType<UndecodableEvent>(Assert.Single(Read(json, Tolerant)).Event);
        Assert.Equal(("test.renamed", 4), (undecodable.TypeName, undecodable.Version));
        Assert.Contains("newer", undecodable.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_name_the_upcaster_that_failed()
    {
        var json = Stored("test.renamed", 2, """{"fullName":"Mononym"}""");

        var error = Assert.Throws<JsonException>(() => Read(json));
        Assert.Contains("UpcastJson(\"test.renamed\", 2) failed on a 'test.renamed' v2 payload", error.Message, StringComparison.Ordinal);
        Assert.IsType<UndecodableEvent>(Assert.Single(Read(json, Tolerant)).Event);
    }

    [Fact]
    public void Should_write_only_the_newest_version()
    {
        Assert.False(Registry.TryGet(typeof(RenamedV1), out _));
        var error = Assert.Throws<UnregisteredTypeException>(() => JsonSerializer.Serialize<IEvent>(new SplitV1Event(), Strict));
        Assert.Contains("is not registered", error.Message, StringComparison.Ordinal);
        Assert.Contains("superseded version", Registry.NotWritable(typeof(RenamedV1)), StringComparison.Ordinal);
        Assert.Contains("Write 'Renamed' (v3) instead", Registry.NotWritable(typeof(RenamedV2)), StringComparison.Ordinal);

        var written = JsonSerializer.Serialize<IEvent>(new Renamed("A", "B"), Strict);
        Assert.Equal("""{"type":"test.renamed","version":3,"data":{"given":"A","family":"B"}}""", written);
    }

    public static TheoryData<string, Action<ActorEventsDomainBuilder>, string> RegistrationErrors => new()
    {
        {
            "gap", d => d.UpcastJson("test.renamed", 1, j => j),
            "The chain of 'test.renamed' has a gap: upcasters start from v1, but none from v2"
        },
        {
            "two for one version", d => d.UpcastJson("test.dropped", 1, j => j).UpcastJsonToMany("test.dropped", 1, _ => []),
            "Two upcasters for 'test.dropped' v1: UpcastJson(\"test.dropped\", 1) and UpcastJsonToMany(\"test.dropped\", 1)"
        },
        {
            "not older than the type", d => d.UpcastJson("test.dropped", 2, j => j),
            "UpcastJson(\"test.dropped\", 2) starts at v2, which is not older than 'test.dropped' v2 ('Dropped')"
        },
        {
            "superseded type without an upcaster", d => d.AddMessageType<RenamedV1>(),
            "'RenamedV1' is 'test.renamed' v1, superseded, but no upcaster starts from it"
        },
        {
            "old type not marked", d => d.Upcast<NotMarkedV1, Dropped>(_ => new Dropped("x")),
            "mark it [MessageName(\"test.not-marked\", Version = 1, Superseded = true)]"
        },
        {
            "no current type", d => d.UpcastJson("test.nowhere", 1, j => j),
            "Upcasters are registered for 'test.nowhere', but no current type is registered under that name."
        },
        {
            "upcasting to an older version", d => d.Upcast<RenamedV2, RenamedV1>(v2 => new RenamedV1("a", "b")).Upcast<RenamedV1, RenamedV2>(v1 => new RenamedV2("x")),
            "Upcast<RenamedV2, RenamedV1> upcasts v2 to 'RenamedV1' (v1): an upcaster leads to a newer version."
        },
    };

    [Theory]
    [MemberData(nameof(RegistrationErrors))]
    public void Should_fail_at_start_up_with_a_clear_message_for_an_invalid_registration(string what, Action<ActorEventsDomainBuilder> register, string message)
    {
        var domain = Domain();
        register(domain);

        var error = Assert.Throws<InvalidOperationException>(() => domain.Build());
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{what}: {error.Message}");
    }
}

/// <summary>test.renamed v1: first and last name.</summary>
[MessageName("test.renamed", Version = 1, Superseded = true)]
public sealed record RenamedV1(string First, string Last);

/// <summary>test.renamed v2: one full name.</summary>
[MessageName("test.renamed", Version = 2, Superseded = true)]
public sealed record RenamedV2(string FullName);

/// <summary>test.renamed v3: given and family name.</summary>
[MessageName("test.renamed", Version = 3)]
public sealed record Renamed(string Given, string Family) : IEvent;

/// <summary>test.split-first v1: two facts in one event.</summary>
[MessageName("test.split-first", Version = 1, Superseded = true)]
public sealed record SplitV1(string A, string B);

/// <summary>An event nobody registered (to show what writing an unregistered type says).</summary>
public sealed record SplitV1Event : IEvent;

/// <summary>test.split-first v2: the first fact.</summary>
[MessageName("test.split-first", Version = 2)]
public sealed record SplitFirst(string A) : IEvent;

/// <summary>test.split-second: the second fact, a name of its own.</summary>
[MessageName("test.split-second")]
public sealed record SplitSecond(string B) : IEvent;

/// <summary>test.dropped v2 (v1 events are no longer meaningful).</summary>
[MessageName("test.dropped", Version = 2)]
public sealed record Dropped(string X) : IEvent;

/// <summary>test.compatible v2: v1 lacked the optional note.</summary>
[MessageName("test.compatible", Version = 2)]
public sealed record Compatible(string Name, string? Note = null) : IEvent;

/// <summary>An old version not marked superseded.</summary>
[MessageName("test.not-marked", Version = 1)]
public sealed record NotMarkedV1(string X);
