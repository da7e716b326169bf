using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>A durable handler's dead letter: the subscription reports it stalled, and a replay through the office releases it.</summary>
public sealed class DurableDeadLetterTests
{
    [Fact]
    public async Task Should_report_a_parked_durable_stream_as_stalled_and_release_it_with_a_replay()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var log = new DeliveryLog { FailOn = e => e is { LedgerId: "poisoned", Index: 2 } };
        const string handler = nameof(FailingLedgerHandler);
        await using var host = await LedgerHost.StartAsync(database, log, domain => domain
            .AddHandler<FailingLedgerHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription("ledger-effects", s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; }));

        await host.RecordAsync("poisoned", 4);
        await host.RecordAsync("healthy", 3);
        await PipelineHost.WaitUntilAsync(() => host.StatusAsync("ledger-effects").Result is { Parked: 2, LagEvents: 0 }, "entries 3 and 4 are parked behind entry 2");
        var stalled = await host.StatusAsync("ledger-effects");
        Assert.Equal((SubscriptionState.Stalled, 1), (stalled.State, stalled.DeadLetters));
        Assert.Contains("parked", stalled.LastError, StringComparison.Ordinal);
        Assert.Equal([("healthy", 3L), ("poisoned", 1L)], (await host.EffectRowsAsync(handler, "")).Select(r => (r.LedgerId, r.Applied)));

        // The fault is fixed: the replay runs the durable handler (in no request pool) and releases what was parked.
        log.FailOn = _ => false;
        var office = await host.Host.Services.GetRequiredService<IRequiredActor<DeadLetterOffice>>().GetAsync();
        var entry = Assert.Single((await office.Ask<DeadLetterList>(new ListDeadLetters(new DeadLetterFilter()), TimeSpan.FromSeconds(10))).Entries);
        var replayed = await office.Ask<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id), TimeSpan.FromSeconds(10));
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 2, null), replayed);

        await PipelineHost.WaitUntilAsync(() => host.EffectRowsAsync(handler, "poisoned").Result.Single().Applied == 4, "every entry of the poisoned ledger is applied");
        await host.RecordAsync("poisoned", 1);
        await PipelineHost.WaitUntilAsync(() => host.EffectRowsAsync(handler, "poisoned").Result.Single().Applied == 5, "a new entry is not parked any more");
        var released = await host.StatusAsync("ledger-effects");
        Assert.Equal((SubscriptionState.Running, 0, 0), (released.State, released.DeadLetters, released.Parked));
        Assert.Equal(5, (await host.EffectRowsAsync(handler, "poisoned")).Single().AmountSum);
    }
}
