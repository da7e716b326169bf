using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Supervision;

/// <summary>
/// Nodes (ActorSystems, each its own process as far as the pools can tell) sharing one SQLite database, hence one
/// dead-letter table: a stream parked on one node is released when its dead letter is resolved on another, every event
/// runs exactly once (whoever takes the entry runs its recorded followers, the parking node only what was not recorded),
/// in order, and other aggregates are not held up. Refreshes run every 100 ms here.
/// </summary>
public sealed class SharedDeadLetterStoreTests
{
    private const string Faulty = nameof(FaultyHandler);

    private static Task<(ActorEventsTestHost Host, HandlerProbe Probe, FaultSwitch Faults)> StartNodeAsync(
        TempSqliteDatabase database, FaultSwitch faults, Action<IServiceCollection>? services = null, string resolutionLease = "00:02:00") =>
        SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(workers: 2, maxRetries: 0, new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "sqlite",
            ["Persistence:ConnectionString"] = database.ConnectionString,
            ["Pipeline:ParkingRefreshInterval"] = "00:00:00.100",
            ["Pipeline:DeadLetterResolutionLease"] = resolutionLease,
        }), services, faults);

    /// <summary>Sequence numbers of the aggregate's events the handler completed, on every node, sorted: each once.</summary>
    private static long[] SucceededAnywhere(FaultSwitch faults, string aggregateId) =>
        faults.Invocations.Where(i => !i.Failed && i.Envelope.AggregateId == aggregateId).Select(i => i.Envelope.SequenceNr).Order().ToArray();

    private static HandlerPoolLoad RequestPool(ActorEventsTestHost host) => host.Host.Services.GetRequiredService<EventPipelineLoad>().Request;

    [Fact]
    public async Task Should_release_a_stream_parked_on_one_node_when_another_node_replays_its_dead_letter_running_each_event_once_in_order()
    {
        using var database = new TempSqliteDatabase();
        var faults = new FaultSwitch();
        faults.FailWhen((_, e) => e is { AggregateId: "shared-a", SequenceNr: 2 } ? new FlakyDependencyException("down") : null);
        var (first, firstProbe, _) = await StartNodeAsync(database, faults);
        await using var firstNode = first;
        await first.SendParkingScenarioAsync(firstProbe, "shared-a", "shared-b");
        var entry = Assert.Single(await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 3, "3..5 are recorded on the entry"));

        var (second, secondProbe, _) = await StartNodeAsync(database, faults);
        await using var secondNode = second;
        faults.Heal();
        var replayed = await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));

        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 3, null), replayed);
        await PipelineHost.WaitUntilAsync(() => secondProbe.Handled(Faulty, "shared-a").Length == 4, "the replaying node runs 2..5");
        Assert.Equal([2L, 3L, 4L, 5L], secondProbe.Handled(Faulty, "shared-a"));

        // The first node finds the entry gone at a refresh and releases the aggregate without running 3..5 again: the
        // next event is handled at once, and after anything the first node would have queued for the aggregate before it.
        await PipelineHost.WaitUntilAsync(() => RequestPool(first).Parked == 0, "the first node releases its parked stream");
        var next = Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("shared-a", 1)));
        Assert.Equal([HandlerStatus.Succeeded], next.StatusesInOrder());
        Assert.Equal([1L, 6L], firstProbe.Handled(Faulty, "shared-a"));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], SucceededAnywhere(faults, "shared-a"));
        Assert.Empty(await first.ListAsync());
    }

    [Fact]
    public async Task Should_run_an_event_parked_after_another_node_took_the_dead_letter_on_the_node_that_parked_it()
    {
        using var database = new TempSqliteDatabase();
        var faults = new FaultSwitch();
        faults.FailWhen((_, e) => e is { AggregateId: "late-a", SequenceNr: 2 } ? new FlakyDependencyException("down") : null);
        var (first, firstProbe, _) = await StartNodeAsync(database, faults, services => GatedDeadLetterStore.Register(services));
        await using var firstNode = first;
        var a = Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("late-a", 3)));
        Assert.Equal([HandlerStatus.Succeeded, HandlerStatus.DeadLettered, HandlerStatus.Parked], a.StatusesInOrder());
        var entry = Assert.Single(await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 1, "3 is recorded on the entry"));

        // The first node stops reading the store, so it does not notice that the second one takes the entry.
        var store = GatedDeadLetterStore.Of(first);
        await store.HoldReadsAsync();
        var (second, secondProbe, _) = await StartNodeAsync(database, faults);
        await using var secondNode = second;
        faults.Heal();
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 1, null), await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        await PipelineHost.WaitUntilAsync(() => secondProbe.Handled(Faulty, "late-a").Length == 2, "the replaying node runs 2 and 3");

        // A new event parks on the first node; the taken entry refuses it, so it is the first node's to run.
        var late = Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("late-a", 1)));
        Assert.Equal([HandlerStatus.Parked], late.StatusesInOrder());
        Assert.Empty(await second.ListAsync());
        Assert.Equal([1L], firstProbe.Handled(Faulty, "late-a"));

        store.OpenGate();
        await PipelineHost.WaitUntilAsync(() => firstProbe.Handled(Faulty, "late-a").Length == 2, "the first node runs its unrecorded follower");
        Assert.Equal([1L, 4L], firstProbe.Handled(Faulty, "late-a"));
        Assert.Equal([2L, 3L], secondProbe.Handled(Faulty, "late-a"));
        Assert.Equal([1L, 2L, 3L, 4L], SucceededAnywhere(faults, "late-a"));
    }

    [Fact]
    public async Task Should_hand_an_event_parked_by_a_node_that_started_during_a_replay_to_that_replay()
    {
        using var database = new TempSqliteDatabase();
        var faults = new FaultSwitch();
        faults.FailWhen((_, e) => e is { AggregateId: "busy-a", SequenceNr: 1 } ? new PermanentHandlerException("bad") : null);
        var (first, firstProbe, _) = await StartNodeAsync(database, faults);
        await using var firstNode = first;
        Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("busy-a", 2)));
        var entry = Assert.Single(await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 1, "2 is recorded on the entry"));

        // The replay's invocation waits until released.
        var release = new TaskCompletionSource();
        faults.FailWhen((_, e) => e is { AggregateId: "busy-a", SequenceNr: 1 } ? new HoldSignalException(release.Task) : null);
        var replay = first.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));
        await PipelineHost.WaitUntilAsync(() => faults.Of(entry.Envelope.EventId).Count == 2, "the replay runs");

        // Meanwhile a node (re)starts: it parks the aggregate behind the open entry and records its new event there.
        var (second, secondProbe, _) = await StartNodeAsync(database, faults);
        await using var secondNode = second;
        var later = Assert.IsType<CommandAccepted>(await second.SendAsync(new Emit("busy-a", 1)));
        Assert.Equal([HandlerStatus.Parked], later.StatusesInOrder());
        await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 2, "3 is recorded on the entry");

        release.SetResult();
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 2, null), await replay);
        await PipelineHost.WaitUntilAsync(() => firstProbe.Handled(Faulty, "busy-a").Length == 3, "the replaying node runs 1..3");
        Assert.Equal([1L, 2L, 3L], firstProbe.Handled(Faulty, "busy-a"));

        await PipelineHost.WaitUntilAsync(() => RequestPool(second).Parked == 0, "the second node releases its parked stream");
        var next = Assert.IsType<CommandAccepted>(await second.SendAsync(new Emit("busy-a", 1)));
        Assert.Equal([HandlerStatus.Succeeded], next.StatusesInOrder());
        Assert.Equal([4L], secondProbe.Handled(Faulty, "busy-a"));
        Assert.Equal([1L, 2L, 3L, 4L], SucceededAnywhere(faults, "busy-a"));
    }

    [Fact]
    public async Task Should_run_the_followers_of_a_dead_letter_whose_resolving_node_stopped_before_running_them()
    {
        using var database = new TempSqliteDatabase();
        var faults = new FaultSwitch();
        faults.FailWhen((_, e) => e is { AggregateId: "crash-a", SequenceNr: 1 } ? new FlakyDependencyException("down") : null);
        var (first, firstProbe, _) = await StartNodeAsync(database, faults, resolutionLease: "00:00:01");
        await using var firstNode = first;
        Assert.Equal([HandlerStatus.DeadLettered, HandlerStatus.Parked, HandlerStatus.Parked],
            Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("crash-a", 3))).StatusesInOrder());
        var entry = Assert.Single(await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 2, "2 and 3 are recorded on the entry"));

        // A second node replays it: 1 succeeds, the entry is taken, and it stops while its follower 2 is still running.
        var (second, _, _) = await StartNodeAsync(database, faults, resolutionLease: "00:00:01");
        var never = new TaskCompletionSource();
        faults.FailWhen((_, e) => e is { AggregateId: "crash-a", SequenceNr: 2 } ? new HoldSignalException(never.Task) : null);
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 2, null), await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        await PipelineHost.WaitUntilAsync(() => faults.Invocations.Any(i => i.Envelope is { AggregateId: "crash-a", SequenceNr: 2 }), "follower 2 runs on the second node");
        await second.DisposeAsync();
        Assert.Empty(await first.ListAsync()); // taken: out of the listings, but kept until its followers are done

        // Its lease runs out; the first node's next refresh takes the resolution over and runs 2 and 3.
        faults.Heal();
        await PipelineHost.WaitUntilAsync(() => firstProbe.Handled(Faulty, "crash-a").Length == 2, "the first node runs the followers the stopped node left");
        Assert.Equal([2L, 3L], firstProbe.Handled(Faulty, "crash-a"));
        Assert.Equal([1L, 2L, 3L], SucceededAnywhere(faults, "crash-a").Distinct()); // 2 was under way on the stopped node too
        var store = first.Host.Services.GetRequiredService<IDeadLetterStore>();
        await PipelineHost.WaitUntilAsync(() => store.ClaimStaleResolutionsAsync([Faulty]).Result.Count == 0 && database.Scalar("SELECT COUNT(*) FROM ae_dead_letters") == 0,
            "the entry is deleted once its last follower is done");
    }

    [Fact]
    public async Task Should_hold_work_until_the_open_dead_letters_can_be_read_at_start()
    {
        using var database = new TempSqliteDatabase();
        var (host, probe, _) = await StartNodeAsync(database, new FaultSwitch(), services => GatedDeadLetterStore.Register(services, failReads: true));
        await using var node = host;
        var store = GatedDeadLetterStore.Of(host);

        var send = host.SendAsync(new Emit("waits", 2));
        await PipelineHost.WaitUntilAsync(() => store.FailedReads >= 3, "the pools retry the read");
        Assert.False(send.IsCompleted);
        Assert.Empty(probe.Handled(Faulty, "waits"));

        store.FailReads = false;
        var accepted = Assert.IsType<CommandAccepted>(await send);
        Assert.Equal([HandlerStatus.Succeeded, HandlerStatus.Succeeded], accepted.StatusesInOrder());
        Assert.Equal([1L, 2L], probe.Handled(Faulty, "waits"));
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_record_a_follower_appended_while_the_entry_is_taken_in_the_taken_entry_or_refuse_it(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var (host, _, _) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), database.Settings(SupervisionHost.Settings()));
        await using var node = host;
        var store = host.Host.Services.GetRequiredService<IDeadLetterStore>();
        var stream = $"race-{Guid.NewGuid():N}";
        var failed = Assert.Single((await host.AcceptAsync(new Emit(stream, 1))).Events);
        var followers = Enumerable.Range(2, 40).Select(n => failed with { EventId = $"{stream}-{n}", SequenceNr = n }).ToArray();
        var failure = new HandlerFailure("Test.Error", "bad", null, false);

        // Concurrent appends to one entry are all kept, and an append of a follower already there adds nothing.
        var kept = await store.AddAsync(new NewDeadLetter(Faulty, failed, failure, 1, DateTimeOffset.UtcNow));
        Assert.All(await Task.WhenAll(followers.Select(f => Task.Run(() => store.AddFollowerAsync(kept, f)))), appended => Assert.True(appended));
        Assert.True(await store.AddFollowerAsync(kept, followers[0]));
        var all = Assert.IsType<DeadLetter>(await store.TakeAsync(kept));
        Assert.Equal(followers.Select(f => f.EventId).Order(), all.ParkedFollowers.Select(f => f.EventId).Order());

        // Appends racing a take: each follower is either in the taken entry (its append said so) or refused, never lost.
        var raced = await store.AddAsync(new NewDeadLetter(Faulty, failed, failure, 1, DateTimeOffset.UtcNow));
        var appends = followers.Select(f => Task.Run(() => store.AddFollowerAsync(raced, f))).ToArray();
        await Task.WhenAny(appends);
        var taken = Assert.IsType<DeadLetter>(await store.TakeAsync(raced));
        var recorded = await Task.WhenAll(appends);

        Assert.Contains(true, recorded);
        Assert.Equal(followers.Where((_, i) => recorded[i]).Select(f => f.EventId).Order(), taken.ParkedFollowers.Select(f => f.EventId).Order());
        Assert.Null(await store.GetAsync(raced));
        Assert.False(await store.AddFollowerAsync(raced, followers[0]));
        Assert.Null(await store.TakeAsync(raced));
    }
}
