using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using LinqToDB.Data;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// The node's shared journal head watch (issue 11, point 7): idle subscriptions do not poll the journal each on its own,
/// and a write of the node reaches them without waiting for the poll interval. Counted through <see cref="JournalReadStats"/>.
/// </summary>
public sealed class JournalHeadWatchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_read_the_journal_for_thirty_idle_subscriptions_less_than_twice_as_often_as_for_one()
    {
        var one = await IdleReadsAsync(subscriptions: 1, sharedHead: true);
        var thirty = await IdleReadsAsync(subscriptions: 30, sharedHead: true);
        var thirtyPolling = await IdleReadsAsync(subscriptions: 30, sharedHead: false);
        output.WriteLine($"idle journal reads: 1 subscription {one}; 30 subscriptions {thirty}; 30 polling each on its own {thirtyPolling}");

        // The same number of looks at the head (the window), and no more source reads than there are subscriptions.
        Assert.Equal(one.HeadQueries, thirty.HeadQueries);
        Assert.True(thirty.Reads < 2 * one.Reads, $"30 idle subscriptions read the journal {thirty.Reads} times, 1 read it {one.Reads} times");
        Assert.True(thirty.SourceReads < 30, $"30 idle subscriptions read their sources {thirty.SourceReads} times in {thirty.HeadQueries} polls");
        // The counter sees the polling it replaces: without the shared head every idle subscription reads on its own.
        Assert.True(thirtyPolling.SourceReads >= 30, $"30 polling subscriptions read their sources only {thirtyPolling.SourceReads} times");
    }

    [Fact]
    public async Task Should_read_the_journal_fewer_times_for_thirty_busy_projections_of_one_tag_than_there_are_projections()
    {
        var one = await BusyReadsAsync(projections: 1);
        var thirty = await BusyReadsAsync(projections: 30);
        output.WriteLine($"journal reads while 100 events come in 20 commands: 1 projection {one}; 30 projections {thirty}");

        // The caught-up projections are served by the node's tail of their tag: fewer journal reads for all 30 than one
        // per projection (each of them needs at least one to get the events, if it reads on its own).
        Assert.True(one.SourceReads >= 1, one.ToString());
        Assert.True(thirty.SourceReads < 30, $"30 projections read the journal {thirty.SourceReads} times (1 read it {one.SourceReads} times)");
    }

    /// <summary>Source reads of a node with this many projections of one tag while 20 commands of 5 events come in; each projection gets each event once.</summary>
    private static async Task<JournalReadStats> BusyReadsAsync(int projections)
    {
        using var database = ProcessDatabase.Sqlite();
        var log = new DeliveryLog();
        var run = Guid.NewGuid().ToString("N")[..8];
        await using var host = await StartAsync(database, log, projections, new Dictionary<string, string?>());
        await host.RecordAsync($"{run}-warm", 1);
        for (var i = 0; i < projections; i++)
        {
            await host.WaitUntilCaughtUpAsync(ProjectionName(i));
        }

        var before = JournalReadStats.Of(host.System);
        for (var command = 0; command < 20; command++)
        {
            await host.RecordAsync($"{run}-busy", 5, perCommand: 5);
        }

        await PipelineHost.WaitUntilAsync(() => Enumerable.Range(0, projections).All(i => log.Count(ProjectionName(i), $"{run}-busy") >= 100),
            "every projection has every event");
        var reads = Delta(JournalReadStats.Of(host.System), before);
        for (var i = 0; i < projections; i++)
        {
            Assert.Equal((100, 100), (log.Count(ProjectionName(i), $"{run}-busy"), log.Distinct(ProjectionName(i), $"{run}-busy")));
        }

        return reads;
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_deliver_a_local_write_without_waiting_for_the_poll_interval(string provider)
    {
        using var database = provider == PersistenceProviders.Sqlite ? ProcessDatabase.Sqlite() : ProcessDatabase.Postgres("head_watch");
        var log = new DeliveryLog();
        var run = Guid.NewGuid().ToString("N")[..8];
        // A poll interval longer than the test waits: only the journal writer's commit report can wake the projection.
        await using var host = await StartAsync(database, log, projections: 1, new Dictionary<string, string?>
        {
            ["Subscriptions:SourcePollInterval"] = "00:01:00",
        });
        var projection = ProjectionName(0);
        await PipelineHost.WaitUntilAsync(() => JournalReadStats.Of(host.System).SourceReads >= 1, "the projection has read the empty journal");

        await host.RecordAsync($"{run}-a", 2);

        await PipelineHost.WaitUntilAsync(() => log.Distinct(projection, run) == 2, "the write is projected", TimeSpan.FromSeconds(20));
        var stats = JournalReadStats.Of(host.System);
        output.WriteLine($"{provider}: {stats}");
        Assert.True(stats.CommitNotices >= 1, stats.ToString());
    }

    /// <summary>Journal reads of a node with this many caught-up projections while 10 looks at the head pass (or, polling each on its own, 1 s).</summary>
    private static async Task<JournalReadStats> IdleReadsAsync(int subscriptions, bool sharedHead)
    {
        using var database = ProcessDatabase.Sqlite();
        var log = new DeliveryLog();
        await using var host = await StartAsync(database, log, subscriptions, new Dictionary<string, string?>
        {
            ["Subscriptions:SourcePollInterval"] = "00:00:00.020",
            ["Subscriptions:SharedJournalHead"] = sharedHead ? "true" : "false",
        });
        await host.RecordAsync("idle-a", 10);
        for (var i = 0; i < subscriptions; i++)
        {
            await host.WaitUntilCaughtUpAsync(ProjectionName(i));
        }

        if (!sharedHead)
        {
            var before = JournalReadStats.Of(host.System);
            await Task.Delay(TimeSpan.FromSeconds(1));
            return Delta(JournalReadStats.Of(host.System), before);
        }

        // Let the last batches finish, then count over the next 10 looks at the head.
        var start = await HeadQueriesAsync(host, JournalReadStats.Of(host.System).HeadQueries + 3);
        // Counted from the first window's end, not from the head queries of the moment: one more may have happened since.
        var end = await HeadQueriesAsync(host, start.HeadQueries + 10);
        return Delta(end, start);
    }

    private static async Task<JournalReadStats> HeadQueriesAsync(ActorEventsTestHost host, long target)
    {
        await PipelineHost.WaitUntilAsync(() => JournalReadStats.Of(host.System).HeadQueries >= target, $"the head is read {target} times");
        // Exactly the target, so that windows of different nodes compare: the source reads of the moment it was reached.
        var stats = JournalReadStats.Of(host.System);
        return stats with { HeadQueries = target };
    }

    private static JournalReadStats Delta(JournalReadStats end, JournalReadStats start) =>
        new(end.HeadQueries - start.HeadQueries, end.SourceReads - start.SourceReads, end.CommitNotices - start.CommitNotices);

    private static string ProjectionName(int index) => $"head-watch-{index}";

    private static Task<ActorEventsTestHost> StartAsync(ProcessDatabase database, DeliveryLog log, int projections, Dictionary<string, string?> overrides)
    {
        overrides["Persistence:Provider"] = database.Provider;
        overrides["Persistence:ConnectionString"] = database.ConnectionString;
        return ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(ActorEventsTestHost.Settings(overrides), domain =>
        {
            domain.AddAggregate<LedgerAggregate>();
            for (var i = 0; i < projections; i++)
            {
                domain.AddProjection<LoggingProjector>(ProjectionName(i), p => p.Tag = LedgerAggregate.Tag);
            }
        }, services: services => services.AddSingleton(log)));
    }
}

/// <summary>A projection without tables: it logs each event it is given under the projection's name.</summary>
public sealed class LoggingProjector(DeliveryLog log) : IProjector
{
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ProjectAsync(EventEnvelope envelope, ProjectionContext context)
    {
        if (envelope.Event is Recorded recorded)
        {
            log.Deliveries.Enqueue((context.Projection, envelope.EventId, recorded.LedgerId, recorded.Index, string.Empty, DateTime.UtcNow));
        }

        return Task.CompletedTask;
    }

    public Task ClearAsync(DataConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
}
