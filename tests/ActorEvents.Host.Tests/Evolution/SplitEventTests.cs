using System.Text.Json.Nodes;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Host.Tests.Evolution;

/// <summary>
/// A stored event that its upcaster splits in two, and one it drops, on SQLite and PostgreSQL: the aggregate recovers the
/// events they make (all sharing their row's sequence number), and a projection gets them at their row's position (the
/// checkpoint moves by rows) under stable ids.
/// </summary>
public sealed class SplitEventTests
{
    private static void Domain(ActorEventsDomainBuilder domain) => domain
        .AddAggregate<NotebookAggregate>()
        .UpcastToMany<NotedPairV1>(pair => [new Noted(pair.NotebookId, pair.Index, pair.First), new Noted(pair.NotebookId, pair.Index + 1, pair.Second)])
        .UpcastJsonToMany("notebook.pinged", 1, _ => [])
        .AddProjection<NotesProjector>("notes", p => p.Tag = AggregateTags.AggregatePrefix + "notebook");

    /// <summary>notebook-n-1 as an earlier version stored it: a v1 pair (ordering 1), a v1 ping (2), a v2 note (3).</summary>
    private static JsonObject Rows() => SampleV1Journal.Journal(
        (1, "notebook", "n-1", 1, "notebook.noted", 1, """{"notebookId":"n-1","index":1,"first":"one","second":"two"}"""),
        (2, "notebook", "n-1", 2, "notebook.pinged", 1, """{"notebookId":"n-1"}"""),
        (3, "notebook", "n-1", 3, "notebook.noted", 2, """{"notebookId":"n-1","index":3,"text":"three"}"""));

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_recover_and_project_the_events_a_split_makes_at_their_rows_place(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        await using (await ActorEventsTestHost.StartAsync(database.Settings(), Domain))
        {
        }

        SampleV1Journal.Insert(database, Rows());
        await using var host = await ActorEventsTestHost.StartAsync(database.Settings(), Domain);

        var next = await host.AcceptAsync(new Note("n-1", "four"));
        var noted = Assert.Single(next.Events);
        Assert.Equal((new Noted("n-1", 4, "four"), 4L), (noted.Event, noted.SequenceNr));

        await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await using var db = new DataConnection(new DataOptions().UseConnectionString(
            StorageConnection.Linq2DbProviderOf(database.Provider), database.ConnectionString));
        var rows = await db.GetTable<NoteRow>().OrderBy(r => r.Index).ToListAsync();
        Assert.Equal(
            [(1L, "e1", 1, "one"), (1L, "e1.1", 2, "two"), (3L, "e3", 3, "three"), (4L, noted.EventId, 4, "four")],
            rows.Select(r => (r.Position, r.EventId, r.Index, r.Text)));
        Assert.Equal(4, database.Scalar("SELECT position FROM ae_checkpoints WHERE subscription = 'notes'"));
    }
}

public interface INotebookCommand : ICommand
{
    string NotebookId { get; }

    string ICommand.AggregateId => NotebookId;
}

[MessageName("notebook.note")]
public sealed record Note(string NotebookId, string Text) : INotebookCommand;

public interface INotebookEvent : IEvent;

/// <summary>notebook.noted v1: two notes in one event.</summary>
[MessageName("notebook.noted", Version = 1, Superseded = true)]
public sealed record NotedPairV1(string NotebookId, int Index, string First, string Second);

[MessageName("notebook.noted", Version = 2)]
public sealed record Noted(string NotebookId, int Index, string Text) : INotebookEvent;

/// <summary>notebook.pinged v2 (v1 pings meant nothing and are dropped).</summary>
[MessageName("notebook.pinged", Version = 2)]
public sealed record Pinged(string NotebookId) : INotebookEvent;

public sealed record NotebookState(int Notes);

public sealed class NotebookAggregate : Aggregate<NotebookState, INotebookCommand, INotebookEvent>
{
    public override string Name => "notebook";

    public override NotebookState InitialState => new(0);

    public override CommandExpectation Expect(INotebookCommand command) => CommandExpectation.Any;

    public override Decision<INotebookEvent> Decide(NotebookState state, INotebookCommand command) => command switch
    {
        Note n => Decision<INotebookEvent>.Accept(new Noted(n.NotebookId, state.Notes + 1, n.Text)),
        _ => Decision<INotebookEvent>.Reject("unknown"),
    };

    public override NotebookState Apply(NotebookState state, INotebookEvent @event) => @event is Noted ? new NotebookState(state.Notes + 1) : state;
}

[Table("test_notes")]
public sealed class NoteRow
{
    [PrimaryKey, Column("event_id", Length = 64), NotNull]
    public string EventId { get; set; } = string.Empty;

    [Column("position"), NotNull]
    public long Position { get; set; }

    [Column("note_index"), NotNull]
    public int Index { get; set; }

    [Column("note_text", Length = 200), NotNull]
    public string Text { get; set; } = string.Empty;
}

public sealed class NotesProjector : IProjector
{
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<NoteRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);

    public Task ProjectAsync(EventEnvelope envelope, ProjectionContext context) => envelope.Event is Noted noted
        ? context.Connection.InsertAsync(new NoteRow { EventId = envelope.EventId, Position = context.Position, Index = noted.Index, Text = noted.Text }, token: context.CancellationToken)
        : Task.CompletedTask;

    public Task ClearAsync(DataConnection connection, CancellationToken cancellationToken) => connection.GetTable<NoteRow>().DeleteAsync(cancellationToken);
}
