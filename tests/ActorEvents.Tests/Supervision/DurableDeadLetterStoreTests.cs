using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;

namespace ActorEvents.Tests.Supervision;

/// <summary>The SQL dead-letter store (table ae_dead_letters in the journal's SQLite file) across an actor-system restart.</summary>
public sealed class DurableDeadLetterStoreTests
{
    private const string Faulty = nameof(FaultyHandler);

    [Fact]
    public async Task Should_keep_dead_letters_across_a_restart_on_sqlite_and_replay_them_on_the_new_host()
    {
        using var database = new TempSqliteDatabase();
        var settings = SupervisionHost.Settings(workers: 2, maxRetries: 1, new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "sqlite",
            ["Persistence:ConnectionString"] = database.ConnectionString,
        });

        DeadLetter before;
        CommandAccepted accepted;
        var (first, _, firstFaults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using (first)
        {
            firstFaults.FailWhen((_, e) => e is { AggregateId: "durable", SequenceNr: 1 } ? new FlakyDependencyException("the mail server is down") : null);
            accepted = Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("durable", 2)));
            before = Assert.Single(await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 1, "the entry and its follower are stored"));
            Assert.Equal(1, database.Scalar("SELECT COUNT(*) FROM ae_dead_letters"));
        }

        var (second, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = second;

        var after = Assert.Single(await second.ListAsync());
        Assert.Equal(before.Id, after.Id);
        Assert.Equal(Faulty, after.Handler);
        Assert.Equal(accepted.Events[0], after.Envelope);
        Assert.Equal(new Emitted("durable", 1), after.Envelope.Event);
        Assert.Equal(typeof(FlakyDependencyException).FullName, after.ErrorType);
        Assert.Equal("the mail server is down", after.ErrorMessage);
        Assert.Contains(nameof(SwitchedHandler), after.StackTrace);
        Assert.Equal(2, after.Attempts);
        Assert.Equal(before.FirstFailureAt, after.FirstFailureAt);
        Assert.Equal(before.LastFailureAt, after.LastFailureAt);
        Assert.Equal([accepted.Events[1]], after.ParkedFollowers);

        var replayed = await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(after.Id));

        Assert.Equal(new DeadLetterReplayed(after.Id, true, 1, null), replayed);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "durable").Length == 2, "the event and its parked follower are handled");
        Assert.Equal([1L, 2L], probe.Handled(Faulty, "durable"));
        Assert.Equal(3, Assert.Single(faults.Invocations, i => i.Envelope.SequenceNr == 1).Attempt);
        Assert.Empty(await second.ListAsync());
        await PipelineHost.WaitUntilAsync(() => database.Scalar("SELECT COUNT(*) FROM ae_dead_letters") == 0, "the taken entry is deleted once its follower is done");
    }

    [Fact]
    public async Task Should_keep_parking_an_aggregates_new_events_after_a_restart_until_its_dead_letter_is_resolved()
    {
        using var database = new TempSqliteDatabase();
        var settings = SupervisionHost.Settings(workers: 2, maxRetries: 0, new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "sqlite",
            ["Persistence:ConnectionString"] = database.ConnectionString,
        });
        var (first, _, firstFaults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using (first)
        {
            firstFaults.FailWhen((_, e) => e is { AggregateId: "still-parked", SequenceNr: 1 } ? new FlakyDependencyException("down") : null);
            Assert.IsType<CommandAccepted>(await first.SendAsync(new Emit("still-parked", 2)));
            await first.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 1, "the entry and its follower are stored");
        }

        var (second, probe, _) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = second;

        var later = Assert.IsType<CommandAccepted>(await second.SendAsync(new Emit("still-parked", 1)));
        Assert.Equal(HandlerStatus.Parked, Assert.Single(later.HandlerOutcomes).Status);
        Assert.Empty(probe.Handled(Faulty, "still-parked"));

        var entry = Assert.Single(await second.ListAsync());
        Assert.True((await second.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id))).Succeeded);
        await PipelineHost.WaitUntilAsync(() => probe.Handled(Faulty, "still-parked").Length == 3, "all three events are handled");
        Assert.Equal([1L, 2L, 3L], probe.Handled(Faulty, "still-parked"));
    }
}
