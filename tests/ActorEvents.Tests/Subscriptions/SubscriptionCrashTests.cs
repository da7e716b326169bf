using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using LinqToDB;
using LinqToDB.Async;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// A node is stopped hard (no leave, no hand-over, nothing flushed) while a handler subscription and a projection are
/// half-way through 5,000 events; a new node on the same database must finish the job from the checkpoints.
/// </summary>
public sealed class SubscriptionCrashTests(ITestOutputHelper output)
{
    private const int Ledgers = 100;
    private const int EventsPerLedger = 50;
    private const int Total = Ledgers * EventsPerLedger;

    // SQLite only: on the shared PostgreSQL database the same run takes three times as long (the guarded handler's
    // transaction per event), and the recovery logic does not depend on the provider.
    [Fact]
    public async Task Should_handle_every_event_at_least_once_apply_effects_once_and_project_exactly_after_a_hard_stop()
    {
        const string provider = PersistenceProviders.Sqlite;
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (handlers, projection, probe, effects) = ($"crash-handlers-{run}", $"crash-totals-{run}", $"probe-{run}", $"effects-{run}");
        var log = new DeliveryLog();
        void Domain(ActorEventsDomainBuilder domain) => domain
            .AddHandler<DeliveryProbeHandler>(h => { h.Name = probe; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = effects; h.Delivery = HandlerDelivery.Durable; })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(handlers, s => { s.Tag = LedgerAggregate.Tag; s.BatchSize = 100; s.CheckpointEvery = 250; s.MaxConcurrentHandlers = 8; })
            .AddProjection<LedgerProjector>(projection, p => { p.Tag = LedgerAggregate.Tag; p.BatchSize = 1; });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = await LedgerHost.StartAsync(database, log, Domain, hocon: LedgerHost.CrashOnTerminate);
        output.WriteLine($"{clock.Elapsed} started");
        SubscriptionStatus handlersAtCrash, projectionAtCrash;
        try
        {
            // The projection is faster than the handlers: it starts late so that the crash catches both half-way.
            await first.Subscriptions().PauseAsync(projection);
            var ledgers = Enumerable.Range(0, Ledgers).Select(i => $"{run}-{i:D3}").ToArray();
            await Parallel.ForEachAsync(ledgers, new ParallelOptions { MaxDegreeOfParallelism = 4 },
                async (ledger, _) => await first.RecordAsync(ledger, EventsPerLedger));
            output.WriteLine($"{clock.Elapsed} written; {log.Distinct(effects, run)} handled");
            await PipelineHost.WaitUntilAsync(() => log.Distinct(effects, run) >= Total / 3, "a third of the events are handled", TimeSpan.FromSeconds(60));
            await first.Subscriptions().ResumeAsync(projection);
            for (var deadline = DateTime.UtcNow.AddSeconds(60); (await first.StatusAsync(projection)).Checkpoint < Total / 10;)
            {
                Assert.True(DateTime.UtcNow < deadline, "the projection does not move");
                await Task.Delay(20);
            }

            output.WriteLine($"{clock.Elapsed} both under way");
            handlersAtCrash = await first.StatusAsync(handlers);
            projectionAtCrash = await first.StatusAsync(projection);
            await first.System.Terminate(); // a crash: no CoordinatedShutdown, no singleton hand-over, no last checkpoint
        }
        finally
        {
            await first.DisposeAsync();
        }

        var deliveredBeforeCrash = log.Count(probe, run);
        output.WriteLine($"at the crash: handlers {handlersAtCrash.Checkpoint}/{handlersAtCrash.Head} stored, {handlersAtCrash.LagEvents} behind; " +
            $"projection {projectionAtCrash.Checkpoint}/{projectionAtCrash.Head}, {projectionAtCrash.LagEvents} behind; {deliveredBeforeCrash} deliveries");
        Assert.InRange(handlersAtCrash.LagEvents, 1, Total - 1);
        Assert.InRange(projectionAtCrash.LagEvents, 1, Total - 1);

        await using var second = await LedgerHost.StartAsync(database, log, Domain, hocon: LedgerHost.CrashOnTerminate);
        var resumedAt = (await second.StatusAsync(handlers)).Checkpoint;
        output.WriteLine($"{clock.Elapsed} restarted");
        await second.WaitUntilCaughtUpAsync(handlers, TimeSpan.FromSeconds(90));
        await second.WaitUntilCaughtUpAsync(projection, TimeSpan.FromSeconds(90));
        output.WriteLine($"{clock.Elapsed} caught up");

        // At least once: every event reached the handlers; some more than once (those after the last checkpoint).
        var delivered = log.Count(probe, run);
        var redelivered = delivered - Total;
        var status = await second.StatusAsync(handlers);
        var skipped = await SkippedAsync(second, effects);
        var report = $"crash mid-stream ({provider}): {Total} events, checkpoint {handlersAtCrash.Checkpoint} stored before the crash, resumed from {resumedAt}; " +
            $"{delivered} deliveries = {redelivered} redeliveries; the guarded handler skipped {skipped} of them (status: {status.Redeliveries}); " +
            $"projection stored {projectionAtCrash.Checkpoint} before the crash";
        output.WriteLine(report);
        Console.WriteLine($"[subscription crash figures] {report}");
        Assert.Equal(Total, log.Distinct(probe, run));
        Assert.InRange(redelivered, 0, 250 + 100 + 100);

        // Exactly-once effects: the additions of the guarded handler are not repeated by the redeliveries.
        var effectRows = await second.EffectRowsAsync(effects, run);
        Assert.Equal(Ledgers, effectRows.Count);
        Assert.All(effectRows, row => Assert.Equal(((long)EventsPerLedger, (long)EventsPerLedger), (row.Applied, row.AmountSum)));

        // The projection equals one built from scratch: every ledger's events once, in order.
        var rows = await second.ProjectionRowsAsync(run);
        Assert.Equal(Enumerable.Range(0, Ledgers).Select(i => ($"{run}-{i:D3}", 50L, 50L, 50L, 0L)),
            rows.Select(r => (r.LedgerId, r.Events, r.AmountSum, r.LastIndex, r.OutOfOrder)));
    }

    private static async Task<long> SkippedAsync(ActorEventsTestHost host, string handler)
    {
        await using var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open();
        return await db.GetTable<ProcessedEventRow>().Where(r => r.Handler == handler).SumAsync(r => (long?)r.Redeliveries) ?? 0;
    }
}
