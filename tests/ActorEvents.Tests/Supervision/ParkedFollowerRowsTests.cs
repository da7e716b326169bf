using System.Text.Json;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Supervision;

/// <summary>Parked followers are rows of <c>ae_parked_followers</c>; a table of the version that kept them as a JSON array on the entry is moved into rows at start.</summary>
public sealed class ParkedFollowerRowsTests
{
    private const string Faulty = nameof(FaultyHandler);

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_keep_each_parked_follower_as_one_row_and_remove_it_when_it_is_done(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), database.Settings(SupervisionHost.Settings(workers: 2, maxRetries: 0)));
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "rows", SequenceNr: 1 } ? new FlakyDependencyException("down") : null);

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("rows", 4)));
        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 3, "2..4 are recorded"));

        Assert.Equal(3, database.Scalar($"SELECT COUNT(*) FROM ae_parked_followers WHERE dead_letter_id = {entry.Id}"));
        Assert.Equal(accepted.Events.Skip(1), entry.ParkedFollowers);
        Assert.Equal(new DeadLetterCount(1, 3), await host.Host.Services.GetRequiredService<IDeadLetterStore>().CountAsync([Faulty]));

        faults.Heal();
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 3, null), await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        await PipelineHost.WaitUntilAsync(() => database.Scalar("SELECT COUNT(*) FROM ae_dead_letters") == 0, "the taken entry is deleted once its followers are done");

        Assert.Equal(0, database.Scalar("SELECT COUNT(*) FROM ae_parked_followers"));
        Assert.Equal([1L, 2L, 3L, 4L], probe.Handled(Faulty, "rows"));
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_move_followers_an_earlier_version_kept_as_a_json_array_into_rows_when_a_node_starts(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        var settings = database.Settings(SupervisionHost.Settings(workers: 2, maxRetries: 0));
        long id;
        EventEnvelope[] followers;
        var (first, _, _) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using (first)
        {
            var failed = Assert.Single((await first.AcceptAsync(new Emit("legacy", 1))).Events);
            followers = [.. Enumerable.Range(2, 3).Select(n => failed with { EventId = $"legacy-{n}", SequenceNr = n, Event = new Emitted("legacy", n) })];
            id = await first.Host.Services.GetRequiredService<IDeadLetterStore>()
                .AddAsync(new NewDeadLetter(Faulty, failed, new HandlerFailure("Smtp", "down", null, false), 1, DateTimeOffset.UtcNow));
            var json = JsonSerializer.Serialize(followers, ActorEventsSerializer.CreateOptions(first.Host.Services.GetRequiredService<ActorEventsDomain>().Types));

            // The table as the earlier version left it: the followers in a JSON column of the entry, without a default.
            database.Execute(provider == PersistenceProviders.Sqlite
                ? "ALTER TABLE ae_dead_letters ADD COLUMN parked_followers TEXT NOT NULL DEFAULT '[]'"
                : "ALTER TABLE ae_dead_letters ADD COLUMN parked_followers text NOT NULL DEFAULT '[]'; ALTER TABLE ae_dead_letters ALTER COLUMN parked_followers DROP DEFAULT");
            database.Execute("UPDATE ae_dead_letters SET parked_followers = @json WHERE id = @id", new Dictionary<string, object?> { ["json"] = json, ["id"] = id });
        }

        var (second, probe, _) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = second;
        var store = second.Host.Services.GetRequiredService<IDeadLetterStore>();

        Assert.Equal(followers, Assert.IsType<DeadLetter>(await store.GetAsync(id)).ParkedFollowers);
        Assert.Equal(3, database.Scalar("SELECT COUNT(*) FROM ae_parked_followers"));
        Assert.Equal(0, provider == PersistenceProviders.Sqlite
            ? database.Scalar("SELECT COUNT(*) FROM pragma_table_info('ae_dead_letters') WHERE name = 'parked_followers'")
            : database.Scalar("SELECT COUNT(*) FROM ae_dead_letters WHERE parked_followers <> '[]'"));
        // A new entry needs nothing of the old column.
        var another = followers[0] with { EventId = "another", AggregateId = "another" };
        Assert.True(await store.AddAsync(new NewDeadLetter(Faulty, another, new HandlerFailure("Smtp", "down", null, false), 1, DateTimeOffset.UtcNow)) > id);

        Assert.Equal(new DeadLetterReplayed(id, true, 3, null), await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(id)));
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "legacy").Length == 4, "the entry's event and its 3 followers are handled");
        Assert.Equal([1L, 2L, 3L, 4L], probe.Handled(Faulty, "legacy"));
    }
}
