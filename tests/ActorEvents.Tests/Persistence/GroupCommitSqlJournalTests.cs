using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Persistence;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Serialization;
using Akka.Streams;
using Akka.Streams.Dsl;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Persistence;

/// <summary>
/// <see cref="GroupCommitSqlJournal"/> on SQLite and (when configured, always in CI) PostgreSQL: the rows it writes are
/// the plugin's rows (replayed by Akka.Persistence.Sql's own journal, queried by its read journal), a conflicting write
/// fails only its own actor, and a write that cannot be serialized is rejected without stopping the actor.
/// </summary>
public sealed class GroupCommitSqlJournalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_write_concurrent_PersistAlls_of_many_actors_as_rows_the_plugin_replays_and_queries_in_order(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..12];
        var ids = Enumerable.Range(0, 30).Select(i => $"gc-{run}-{i}").ToArray();
        string[] Expected(string id) => [.. Enumerable.Range(0, 4).SelectMany(c => Enumerable.Range(0, 3).Select(e => $"{id}/{c}/{e}"))];

        using (var system = Start(database, JournalWriter.GroupCommit))
        {
            var actors = ids.ToDictionary(id => id, id => system.ActorOf(Props.Create(() => new LedgerActor(id, run))));
            var replies = ids.SelectMany(id => Enumerable.Range(0, 4).Select(c =>
                actors[id].Ask<object>(new Append([.. Enumerable.Range(0, 3).Select(e => $"{id}/{c}/{e}")]), Timeout)));
            Assert.All(await Task.WhenAll(replies), reply => Assert.IsType<Appended>(reply));

            var stats = await JournalOf(system).Ask<JournalWriteStats>(GetJournalWriteStats.Instance, Timeout);
            Assert.Equal(360, stats.Rows);
            Assert.Equal(120, stats.Writes);
            Assert.Equal(0, stats.FailedTransactions);
            await system.Terminate();
        }

        Assert.Equal(360, database.Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'gc-{run}-%'"));
        Assert.Equal(720, database.Scalar($"SELECT COUNT(*) FROM tags WHERE persistence_id LIKE 'gc-{run}-%'"));

        // Akka.Persistence.Sql's own journal replays what the group-commit journal wrote, and its read journal finds it by tag.
        using var reader = Start(database, JournalWriter.Plugin);
        foreach (var id in ids)
        {
            var actor = reader.ActorOf(Props.Create(() => new LedgerActor(id, run)));
            Assert.Equal(Expected(id), await actor.Ask<string[]>(GetLedger.Instance, Timeout));
        }

        var byTag = await PersistenceQuery.Get(reader).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByTag($"run:{run}", Offset.NoOffset())
            .RunWith(Sink.Seq<EventEnvelope>(), reader.Materializer())
            .WaitAsync(Timeout);
        Assert.Equal(360, byTag.Count);
        foreach (var stream in byTag.GroupBy(e => e.PersistenceId))
        {
            // Each actor's events appear in the global order in their own order.
            Assert.Equal(Enumerable.Range(1, 12).Select(n => (long)n), stream.Select(e => e.SequenceNr));
            Assert.Equal(Expected(stream.Key), stream.Select(e => (string)e.Event));
        }
    }

    /// <summary>
    /// Gap-safe reading judges a missing ordering by PostgreSQL's transaction horizon, which is only sound if a
    /// transaction has its id before it takes an ordering: a trigger that runs after each row's ordering is taken and
    /// before the row is stored sees whether the transaction already has an id.
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_take_the_transaction_id_before_the_first_ordering_on_postgresql()
    {
        using var database = TestDatabases.CreateIsolated(PersistenceProviders.PostgreSql);
        var run = Guid.NewGuid().ToString("N")[..12];
        using var system = Start(database, JournalWriter.GroupCommit);
        var first = system.ActorOf(Props.Create(() => new LedgerActor($"xid-{run}-0", run)));
        Assert.IsType<Appended>(await first.Ask<object>(new Append(["creates the tables"]), Timeout));
        await using (var connection = new Npgsql.NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var probe = new Npgsql.NpgsqlCommand("""
                CREATE TABLE xid_probe (ordering bigint, had_id boolean);
                CREATE FUNCTION xid_probe() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO xid_probe VALUES (NEW.ordering, pg_current_xact_id_if_assigned() IS NOT NULL);
                    RETURN NEW;
                END $$;
                CREATE TRIGGER xid_probe BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION xid_probe();
                """, connection);
            await probe.ExecuteNonQueryAsync();
        }

        var actors = Enumerable.Range(1, 10).Select(i => system.ActorOf(Props.Create(() => new LedgerActor($"xid-{run}-{i}", run)))).ToArray();
        Assert.All(await Task.WhenAll(actors.Select(a => a.Ask<object>(new Append(["a", "b", "c"]), Timeout))), reply => Assert.IsType<Appended>(reply));
        Assert.Equal(30, database.Scalar("SELECT COUNT(*) FROM xid_probe"));
        Assert.Equal(0, database.Scalar("SELECT COUNT(*) FROM xid_probe WHERE NOT had_id"));
        await system.Terminate();
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_fail_only_the_actor_whose_rows_conflict_and_commit_the_writes_of_the_others(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..12];
        var ids = Enumerable.Range(0, 10).Select(i => $"gc-{run}-{i}").Append($"gc-{run}-zombie").ToArray();
        using var system = Start(database, JournalWriter.GroupCommit);
        var actors = ids.ToDictionary(id => id, id => system.ActorOf(Props.Create(() => new LedgerActor(id, run))));
        foreach (var id in ids)
        {
            Assert.IsType<Appended>(await actors[id].Ask<object>(new Append(["first"]), Timeout));
        }

        // Another incarnation of the zombie (e.g. on a node cut off by a partition) already wrote its sequence number 2.
        database.Scalar(provider == PersistenceProviders.Sqlite
            ? $"INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) VALUES (0, 0, 'gc-{run}-zombie', 2, X'00', '', 1, 'other')"
            : $"INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) VALUES (0, false, 'gc-{run}-zombie', 2, '\\x00'::bytea, '', 1, 'other')");

        var replies = await Task.WhenAll(ids.Select(id => actors[id].Ask<object>(new Append(["a", "b", "c"]), Timeout)));

        var byId = ids.Zip(replies, (id, reply) => (id, reply)).ToDictionary(pair => pair.id, pair => pair.reply);
        Assert.IsType<WriteFailed>(byId[$"gc-{run}-zombie"]);
        Assert.All(ids.SkipLast(1), id => Assert.IsType<Appended>(byId[id]));
        Assert.Equal(2, database.Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id = 'gc-{run}-zombie'"));
        Assert.Equal(40, database.Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'gc-{run}-%' AND persistence_id <> 'gc-{run}-zombie'"));
        var stats = await JournalOf(system).Ask<JournalWriteStats>(GetJournalWriteStats.Instance, Timeout);
        Assert.Equal(1, stats.FailedWrites);
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_reject_a_write_that_cannot_be_serialized_and_keep_the_actor_writing(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..12];
        var id = $"gc-{run}-rejected";
        using (var system = Start(database, JournalWriter.GroupCommit))
        {
            var actor = system.ActorOf(Props.Create(() => new LedgerActor(id, run)));
            Assert.IsType<Appended>(await actor.Ask<object>(new Append(["before"]), Timeout));

            var rejected = Assert.IsType<WriteRejected>(await actor.Ask<object>(new AppendUnserializable(), Timeout));
            Assert.Contains("cannot be serialized", rejected.Reason);

            Assert.IsType<Appended>(await actor.Ask<object>(new Append(["after"]), Timeout));
            Assert.Equal(["before", "after"], await actor.Ask<string[]>(GetLedger.Instance, Timeout));
            await system.Terminate();
        }

        using var restarted = Start(database, JournalWriter.GroupCommit);
        var recovered = restarted.ActorOf(Props.Create(() => new LedgerActor(id, run)));
        Assert.Equal(["before", "after"], await recovered.Ask<string[]>(GetLedger.Instance, Timeout));
    }

    [Fact]
    public void Should_name_the_group_commit_journal_by_a_class_that_loads()
    {
        Assert.Equal(typeof(GroupCommitSqlJournal), Type.GetType(PersistenceHocon.JournalClassOf(JournalWriter.GroupCommit), throwOnError: true));
    }

    [Fact]
    public async Task Should_write_tags_into_the_journals_tags_column_when_the_plugin_is_in_csv_tag_mode()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var run = Guid.NewGuid().ToString("N")[..12];
        var id = $"gc-{run}-csv";
        var csv = ConfigurationFactory.ParseString("""
            akka.persistence.journal.sql.tag-write-mode = Csv
            akka.persistence.query.journal.sql.tag-read-mode = Csv
            """);
        using var system = Start(database, JournalWriter.GroupCommit, csv);
        var actor = system.ActorOf(Props.Create(() => new LedgerActor(id, run)));
        Assert.IsType<Appended>(await actor.Ask<object>(new Append(["x", "y"]), Timeout));

        Assert.Equal(2, database.Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id = '{id}' AND tags LIKE '%;ledger:{id};%' AND tags LIKE '%;run:{run};%'"));
        var byTag = await PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByTag($"ledger:{id}", Offset.NoOffset())
            .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer())
            .WaitAsync(Timeout);
        Assert.Equal(["x", "y"], byTag.Select(e => (string)e.Event));
    }

    private static IActorRef JournalOf(ActorSystem system) => Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);

    private static ActorSystem Start(TestDatabase database, JournalWriter writer, Config? overrides = null)
    {
        var options = new PersistenceOptions { Provider = database.Provider, ConnectionString = database.ConnectionString, JournalWriter = writer };
        if (database.Provider == PersistenceProviders.Sqlite)
        {
            StorageConnection.PrepareSqliteAsync(options.ConnectionString).GetAwaiter().GetResult();
        }
        else
        {
            DatabaseSchema.EnsureCreatedAsync(options).GetAwaiter().GetResult();
        }

        var serialization = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.actor.serializers.refusing = "{{typeof(RefusingSerializer).FullName}}, {{typeof(RefusingSerializer).Assembly.GetName().Name}}"
            akka.actor.serialization-bindings { "{{typeof(Unserializable).FullName}}, {{typeof(Unserializable).Assembly.GetName().Name}}" = refusing }
            """);
        return ActorSystem.Create("group-commit-test", (overrides ?? Config.Empty).WithFallback(serialization).WithFallback(PersistenceHocon.Build(options)));
    }
}

/// <summary>Appends events in one <c>PersistAll</c>.</summary>
public sealed record Append(string[] Events);

/// <summary>Persists one <see cref="Unserializable"/>.</summary>
public sealed record AppendUnserializable;

/// <summary>Asks for the events recovered and appended so far.</summary>
public sealed class GetLedger
{
    public static readonly GetLedger Instance = new();
}

/// <summary>Reply: the events of an <see cref="Append"/> are persisted.</summary>
public sealed record Appended(long SequenceNr);

/// <summary>Reply: the journal failed the write (the actor stops, Akka's rule).</summary>
public sealed record WriteFailed(string Reason);

/// <summary>Reply: the journal rejected the write (the actor stays up).</summary>
public sealed record WriteRejected(string Reason);

/// <summary>A payload bound to <see cref="RefusingSerializer"/>.</summary>
public sealed class Unserializable;

/// <summary>Fails every serialization, as a serializer does with a payload it cannot represent.</summary>
public sealed class RefusingSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 9_901;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => throw new InvalidOperationException($"{obj.GetType().Name} cannot be serialized.");

    public override object FromBinary(byte[] bytes, Type type) => throw new InvalidOperationException("Nothing to read.");
}

/// <summary>A persistent actor that appends tagged strings and replies once each <c>PersistAll</c> is written.</summary>
public sealed class LedgerActor : ReceivePersistentActor
{
    private readonly List<string> _events = [];
    private IActorRef _replyTo = ActorRefs.Nobody;

    public LedgerActor(string persistenceId, string run)
    {
        PersistenceId = persistenceId;
        string[] tags = [$"run:{run}", $"ledger:{persistenceId}"];
        Recover<string>(_events.Add);
        Command<Append>(append =>
        {
            _replyTo = Sender;
            var remaining = append.Events.Length;
            PersistAll(append.Events.Select(e => new Tagged(e, tags)), tagged =>
            {
                _events.Add((string)tagged.Payload);
                if (--remaining == 0)
                {
                    _replyTo.Tell(new Appended(LastSequenceNr));
                }
            });
        });
        Command<AppendUnserializable>(_ =>
        {
            _replyTo = Sender;
            Persist(new Unserializable(), _ => _replyTo.Tell(new Appended(LastSequenceNr)));
        });
        Command<GetLedger>(_ => Sender.Tell(_events.ToArray()));
    }

    public override string PersistenceId { get; }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _replyTo.Tell(new WriteFailed(cause.Message));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _replyTo.Tell(new WriteRejected(cause.Message));
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
