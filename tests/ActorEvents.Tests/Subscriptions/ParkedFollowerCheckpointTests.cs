using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using ActorEvents.Tests.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// Crash window 5(a): a durable handler's follower parked behind a dead letter is in the store before the subscription's
/// checkpoint passes it, so a crash right after the checkpoint moved loses nothing: the follower runs on replay.
/// </summary>
public sealed class ParkedFollowerCheckpointTests
{
    [Fact]
    public async Task Should_not_move_the_checkpoint_past_a_parked_follower_until_it_is_recorded_and_run_it_on_replay_after_a_crash()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var log = new DeliveryLog { FailOn = e => e is { LedgerId: "held", Index: 1 } };
        const string subscription = "ledger-effects";
        const string handler = nameof(FailingLedgerHandler);
        void Subscriptions(ActorEventsDomainBuilder domain) => domain
            .AddHandler<FailingLedgerHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(subscription, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; });
        var overrides = new Dictionary<string, string?> { ["Subscriptions:IdleCheckpointDelay"] = "00:00:00.020" };
        FollowerGatedDeadLetterStore store;
        await using (var host = await LedgerHost.StartAsync(database, log, Subscriptions, overrides, services: FollowerGatedDeadLetterStore.Register))
        {
            store = FollowerGatedDeadLetterStore.Of(host);
            await host.RecordAsync("held", 2);
            await host.RecordAsync("other", 3);
            await PipelineHost.WaitUntilAsync(() => store.WaitingAppends == 1, "entry 2 of 'held' waits to be recorded on the dead letter of entry 1");
            var follower = database.Scalar($"SELECT ordering FROM journal WHERE persistence_id = '{LedgerAggregate.TypeName}-held' AND sequence_number = 2");

            // The append is held: the checkpoint stays before the follower, whatever comes after it.
            await Task.Delay(500);
            var waiting = await host.StatusAsync(subscription);
            Assert.True(waiting.Checkpoint < follower, $"checkpoint {waiting.Checkpoint} passed the unrecorded follower at {follower}");
            Assert.Empty(await host.EffectRowsAsync(handler, "other"));

            store.Release();
            await PipelineHost.WaitUntilAsync(() => host.StatusAsync(subscription).Result is var s && s.Checkpoint >= s.Head && s.Head > follower,
                "the checkpoint moves once the follower is recorded");
            var caughtUp = await host.StatusAsync(subscription);
            Assert.Equal([2L], Assert.Single(await store.ListAsync(new DeadLetterFilter())).ParkedFollowers.Select(f => f.SequenceNr));
            Assert.Equal(3L, (await host.EffectRowsAsync(handler, "other")).Single().Applied);
            Assert.True(caughtUp.Checkpoint > follower);
        }

        // The node is gone (its memory with it); a new one replays the dead letter: the recorded follower runs.
        log.FailOn = _ => false;
        await using var restarted = await LedgerHost.StartAsync(database, log, Subscriptions, overrides);
        var entry = Assert.Single(await restarted.ListAsync());
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 1, null), await restarted.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        await PipelineHost.WaitUntilAsync(() => restarted.EffectRowsAsync(handler, "held").Result is [{ Applied: 2 }], "entries 1 and 2 of 'held' are applied");
    }

}

/// <summary>The node's dead-letter store, with every append of a parked follower held until <see cref="Release"/>.</summary>
public sealed class FollowerGatedDeadLetterStore(IDeadLetterStore inner) : DelegatingDeadLetterStore(inner)
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    public static void Register(IServiceCollection services) => services.AddSingleton<IDeadLetterStore>(provider => new FollowerGatedDeadLetterStore(NodeStore(provider)));

    public static FollowerGatedDeadLetterStore Of(ActorEventsTestHost host) => (FollowerGatedDeadLetterStore)host.Host.Services.GetRequiredService<IDeadLetterStore>();

    public int WaitingAppends => Volatile.Read(ref _waiting);

    public void Release() => _gate.TrySetResult();

    public override async Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _waiting);
        await _gate.Task.WaitAsync(cancellationToken);
        Interlocked.Decrement(ref _waiting);
        return await base.AddFollowerAsync(id, follower, cancellationToken);
    }
}
