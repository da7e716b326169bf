using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;

namespace ActorEvents.Tests.Supervision;

/// <summary>List, inspect, replay, replay-all, skip and purge through the DeadLetterOffice actor.</summary>
public sealed class DeadLetterOfficeTests
{
    private const string Faulty = nameof(FaultyHandler);

    [Fact]
    public async Task Should_run_a_replayed_dead_letter_once_and_remove_it_once_the_fault_is_fixed()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 1));
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "replay-ok" ? new FlakyDependencyException("downstream is down") : null);
        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("replay-ok", 1)));
        var eventId = accepted.Events[0].EventId;
        var entry = Assert.Single(await host.ListAsync());
        Assert.Equal(2, entry.Attempts);
        Assert.Empty(probe.Handled(Faulty, "replay-ok"));

        faults.Heal();
        var replayed = await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));

        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 0, null), replayed);
        Assert.Equal([1L], probe.Handled(Faulty, "replay-ok"));
        Assert.Equal([1, 2, 3], faults.Of(eventId).Select(i => i.Attempt)); // the replay is attempt 3
        Assert.Empty(await host.ListAsync());
        Assert.Equal(entry.Id, (await host.AskOfficeAsync<DeadLetterOperationFailed>(new InspectDeadLetter(entry.Id))).Id);

        // A second replay of the same id finds nothing and runs nothing: the effect happened once.
        await host.AskOfficeAsync<DeadLetterOperationFailed>(new ReplayDeadLetter(entry.Id));
        await Task.Delay(200);
        Assert.Equal([1L], probe.Handled(Faulty, "replay-ok"));
        Assert.Equal(3, faults.Of(eventId).Count);
    }

    [Fact]
    public async Task Should_keep_the_entry_with_more_attempts_when_a_replay_fails_again()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 1));
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "replay-fails" ? new FlakyDependencyException("first outage") : null);
        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("replay-fails", 1)));
        var before = Assert.Single(await host.ListAsync());

        faults.FailWhen((_, e) => e.AggregateId == "replay-fails" ? new TimeoutException("second outage") : null);
        var replayed = await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(before.Id));

        Assert.Equal(before.Id, replayed.Id);
        Assert.False(replayed.Succeeded);
        Assert.Contains("second outage", replayed.Error);
        var after = (await host.AskOfficeAsync<DeadLetterFound>(new InspectDeadLetter(before.Id))).Entry;
        Assert.Equal(4, after.Attempts); // 2 before, then the replay under the retry policy: 1 + 1 retry
        Assert.Equal(typeof(TimeoutException).FullName, after.ErrorType);
        Assert.Equal("second outage", after.ErrorMessage);
        Assert.Equal(before.FirstFailureAt, after.FirstFailureAt);
        Assert.True(after.LastFailureAt > before.LastFailureAt);
        Assert.Equal([1, 2, 3, 4], faults.Of(accepted.Events[0].EventId).Select(i => i.Attempt));
        Assert.Single(await host.ListAsync());

        faults.Heal();
        Assert.True((await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(before.Id))).Succeeded);
        Assert.Equal([1L], probe.Handled(Faulty, "replay-fails"));
        Assert.Empty(await host.ListAsync());
    }

    [Fact]
    public async Task Should_replay_every_dead_letter_of_one_handler_only()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(
            d => d.AddHandler<FaultyHandler>().AddHandler<SecondFaultyHandler>(), SupervisionHost.Settings(maxRetries: 0));
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId.StartsWith("all-", StringComparison.Ordinal) ? new FlakyDependencyException("down") : null);
        foreach (var id in new[] { "all-1", "all-2", "all-3" })
        {
            Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit(id, 1)));
        }

        var entries = await host.ListAsync();
        Assert.Equal(6, entries.Count);
        var faultyIds = entries.Where(e => e.Handler == Faulty).Select(e => e.Id).ToArray();
        Assert.Equal(3, faultyIds.Length);

        faults.Heal();
        var replayed = await host.AskOfficeAsync<DeadLettersReplayed>(new ReplayAllDeadLetters(Faulty));

        Assert.Equal(faultyIds, replayed.Results.Select(r => r.Id));
        Assert.All(replayed.Results, r => Assert.True(r.Succeeded, r.Error));
        foreach (var id in new[] { "all-1", "all-2", "all-3" })
        {
            Assert.Equal([1L], probe.Handled(Faulty, id));
            Assert.Empty(probe.Handled(nameof(SecondFaultyHandler), id));
        }

        var left = await host.ListAsync();
        Assert.Equal(3, left.Count);
        Assert.All(left, e => Assert.Equal(nameof(SecondFaultyHandler), e.Handler));
        Assert.Equal(3, (await host.ListAsync(new DeadLetterFilter(Handler: nameof(SecondFaultyHandler)))).Count);
        Assert.Empty(await host.ListAsync(new DeadLetterFilter(Handler: Faulty)));
    }

    [Fact]
    public async Task Should_skip_a_dead_letter_without_running_it_and_release_its_followers_in_order()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 0));
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "skip-me", SequenceNr: 1 } ? new FlakyDependencyException("bad event") : null);
        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("skip-me", 3)));
        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 2, "2 followers are parked"));
        Assert.Empty(probe.Handled(Faulty, "skip-me"));

        faults.Heal(); // even though it could succeed now, a skip must not run it
        var skipped = await host.AskOfficeAsync<DeadLetterSkipped>(new SkipDeadLetter(entry.Id));

        Assert.Equal(new DeadLetterSkipped(entry.Id, 2), skipped);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "skip-me").Length == 2, "the followers are handled");
        await Task.Delay(200);
        Assert.Equal([2L, 3L], probe.Handled(Faulty, "skip-me"));
        Assert.Single(faults.Of(accepted.Events[0].EventId));
        Assert.Empty(await host.ListAsync());
        await host.AskOfficeAsync<DeadLetterOperationFailed>(new InspectDeadLetter(entry.Id));
    }

    [Fact]
    public async Task Should_purge_every_dead_letter_and_release_parked_followers()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 0));
        await using var _ = host;
        faults.FailWhen((_, e) => e.SequenceNr == 1 && e.AggregateId.StartsWith("purge-", StringComparison.Ordinal) ? new FlakyDependencyException("down") : null);
        Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("purge-1", 1)));
        Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("purge-2", 1)));
        Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("purge-3", 3)));
        await host.WaitForEntriesAsync(e => e.Count == 3 && e.Sum(x => x.ParkedFollowers.Count) == 2, "3 entries, 2 parked followers");

        Assert.Equal(new DeadLettersPurged(3), await host.AskOfficeAsync<DeadLettersPurged>(new PurgeDeadLetters()));

        Assert.Empty(await host.ListAsync());
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "purge-3").Length == 2, "the parked followers are released");
        Assert.Equal([2L, 3L], probe.Handled(Faulty, "purge-3"));
        Assert.Empty(probe.Handled(Faulty, "purge-1"));
        Assert.Equal(new DeadLettersPurged(0), await host.AskOfficeAsync<DeadLettersPurged>(new PurgeDeadLetters()));

        // The aggregate is no longer parked: a new event is handled straight away.
        var next = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("purge-3", 1)));
        Assert.Equal(HandlerStatus.Succeeded, Assert.Single(next.HandlerOutcomes).Status);
    }

    [Fact]
    public async Task Should_answer_inspect_replay_and_skip_of_an_unknown_id_with_operation_failed()
    {
        var (host, _, _) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings());
        await using var _ = host;

        foreach (var message in new object[] { new InspectDeadLetter(424242), new ReplayDeadLetter(424242), new SkipDeadLetter(424242) })
        {
            var failed = await host.AskOfficeAsync<DeadLetterOperationFailed>(message);
            Assert.Equal(424242, failed.Id);
            Assert.Contains("424242", failed.Reason);
        }

        Assert.Empty((await host.AskOfficeAsync<DeadLettersReplayed>(new ReplayAllDeadLetters("NoSuchHandler"))).Results);
    }

    [Fact]
    public async Task Should_refuse_a_second_replay_or_a_skip_of_an_entry_whose_replay_is_running_so_the_effect_happens_once()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 0));
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "replay-twice" ? new FlakyDependencyException("down") : null);
        Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("replay-twice", 1)));
        var entry = Assert.Single(await host.ListAsync());

        faults.Heal();
        probe.CloseGate(); // the replayed handler blocks inside its effect until the gate opens
        var first = host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));
        await PipelineHost.WaitUntilAsync(() => probe.Running == 1, "the replay is running");

        var second = await host.AskOfficeAsync<DeadLetterOperationFailed>(new ReplayDeadLetter(entry.Id));
        var skip = await host.AskOfficeAsync<DeadLetterOperationFailed>(new SkipDeadLetter(entry.Id));
        Assert.Equal(entry.Id, second.Id);
        Assert.Equal(entry.Id, skip.Id);

        probe.OpenGate();
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 0, null), await first);
        await Task.Delay(200);
        Assert.Equal([1L], probe.Handled(Faulty, "replay-twice"));
        Assert.Empty(await host.ListAsync());
    }
}
