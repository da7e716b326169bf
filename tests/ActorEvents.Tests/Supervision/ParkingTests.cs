using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;

namespace ActorEvents.Tests.Supervision;

/// <summary>
/// Per-aggregate ordering in parallel mode: a dead-lettered event parks the later events of its aggregate for
/// that handler (other aggregates keep flowing) until it is replayed (followers run after it, in order) or skipped.
/// </summary>
public sealed class ParkingTests
{
    private const string Faulty = nameof(FaultyHandler);

    [Fact]
    public async Task Should_park_the_later_events_of_a_dead_lettered_aggregate_and_run_them_in_order_after_a_successful_replay()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(workers: 2, maxRetries: 3));
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "park-a", SequenceNr: 2 } ? new PermanentHandlerException("event 2 of A is bad") : null);

        var a = await host.SendParkingScenarioAsync(probe, "park-a", "park-b");

        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 3, "A's 3..5 are recorded as parked"));
        Assert.Equal(a.Events[1].EventId, entry.Envelope.EventId);
        Assert.Equal(a.Events.Skip(2).Select(e => e.EventId), entry.ParkedFollowers.Select(f => f.EventId));

        // Events of A that arrive later park behind it too.
        var later = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("park-a", 2)));
        Assert.Equal([HandlerStatus.Parked, HandlerStatus.Parked], later.StatusesInOrder());
        await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 5, "A's 6 and 7 are recorded as parked");
        await Task.Delay(100);
        Assert.Equal([1L], probe.Handled(Faulty, "park-a"));

        faults.Heal();
        var replayed = await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));

        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 5, null), replayed);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "park-a").Length == 7, "A's events are all handled");
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L], probe.Handled(Faulty, "park-a"));
        Assert.Empty(await host.ListAsync());

        // A is not parked any more.
        var next = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("park-a", 1)));
        Assert.Equal([HandlerStatus.Succeeded], next.StatusesInOrder());
    }

    [Fact]
    public async Task Should_hold_followers_during_retries_and_release_them_in_order_without_the_skipped_event()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(workers: 2, maxRetries: 2));
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "skip-a", SequenceNr: 2 } ? new FlakyDependencyException("event 2 of A keeps failing") : null);

        var a = await host.SendParkingScenarioAsync(probe, "skip-a", "skip-b");

        // While event 2 was being retried (3 attempts) the followers did not overtake it.
        var attempts = faults.Of(a.Events[1].EventId);
        Assert.Equal(3, attempts.Count);
        Assert.DoesNotContain(faults.Invocations, i => i.Envelope.AggregateId == "skip-a" && i.Envelope.SequenceNr > 2);

        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 3, "A's 3..5 are recorded as parked"));
        Assert.Equal(a.Events.Skip(2).Select(e => e.EventId), entry.ParkedFollowers.Select(f => f.EventId));

        var skipped = await host.AskOfficeAsync<DeadLetterSkipped>(new SkipDeadLetter(entry.Id));

        Assert.Equal(new DeadLetterSkipped(entry.Id, 3), skipped);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "skip-a").Length == 4, "A's followers are handled");
        Assert.Equal([1L, 3L, 4L, 5L], probe.Handled(Faulty, "skip-a"));
        Assert.Equal(3, faults.Of(a.Events[1].EventId).Count); // event 2 did not run again
        Assert.Empty(await host.ListAsync());
    }

    /// <summary>Runs a streaming request (its events go to the streaming pool) to the end.</summary>
    private static async Task StreamAsync(Infrastructure.ActorEventsTestHost host, string streamId, int steps)
    {
        await foreach (var _ in host.Client.StreamAsync(new EmitSteps(streamId, steps)))
        {
        }
    }

    private static Task<(Infrastructure.ActorEventsTestHost Host, HandlerProbe Probe, FaultSwitch Faults)> StartWithStreamingAsync() =>
        SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>().AddStreamingHandler<EmitSteps, int, EmitStepsHandler>(), SupervisionHost.Settings(workers: 2));

    [Fact]
    public async Task Should_release_the_streaming_pools_parked_followers_once_when_its_dead_letter_is_replayed()
    {
        var (host, probe, faults) = await StartWithStreamingAsync();
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "streamed", SequenceNr: 1 } ? new PermanentHandlerException("bad") : null);
        await StreamAsync(host, "streamed", 3); // events 1..3 on the streaming pool: 1 dead-lettered, 2 and 3 parked there
        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 2, "2 followers are parked"));
        Assert.Empty(probe.Handled(Faulty, "streamed"));

        faults.Heal();
        Assert.True((await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id))).Succeeded);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "streamed").Length >= 3, "the event and its followers are handled");

        // The aggregate is not parked on the streaming pool any more, and nothing ran twice.
        await StreamAsync(host, "streamed", 1);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "streamed").Length >= 4, "a new streamed event is handled", TimeSpan.FromSeconds(3));
        await Task.Delay(200);
        Assert.Equal([1L, 2L, 3L, 4L], probe.Handled(Faulty, "streamed"));
        Assert.Empty(await host.ListAsync());
    }

    [Fact]
    public async Task Should_release_the_streaming_pools_parked_followers_on_skip_and_on_purge()
    {
        var (host, probe, faults) = await StartWithStreamingAsync();
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "streamed-skip" or "streamed-purge", SequenceNr: 1 } ? new PermanentHandlerException("bad") : null);
        await StreamAsync(host, "streamed-skip", 3);
        await StreamAsync(host, "streamed-purge", 3);
        var entries = await host.WaitForEntriesAsync(e => e.Count == 2 && e.All(x => x.ParkedFollowers.Count == 2), "2 entries with 2 followers each");

        var skip = Assert.Single(entries, e => e.Envelope.AggregateId == "streamed-skip");
        Assert.Equal(new DeadLetterSkipped(skip.Id, 2), await host.AskOfficeAsync<DeadLetterSkipped>(new SkipDeadLetter(skip.Id)));
        Assert.Equal(new DeadLettersPurged(1), await host.AskOfficeAsync<DeadLettersPurged>(new PurgeDeadLetters()));

        await StreamAsync(host, "streamed-skip", 1);
        await StreamAsync(host, "streamed-purge", 1);
        await PipelineHost.WaitUntilAsync(
            () => probe.Handled(Faulty, "streamed-skip").Length >= 3 && probe.Handled(Faulty, "streamed-purge").Length >= 3, "the followers and the new events are handled",
            TimeSpan.FromSeconds(3));
        await Task.Delay(200);
        Assert.Equal([2L, 3L, 4L], probe.Handled(Faulty, "streamed-skip"));
        Assert.Equal([2L, 3L, 4L], probe.Handled(Faulty, "streamed-purge"));
    }
}
