using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>Lag, pause, resume, reset and rebuild of a handler subscription and a projection, on SQLite and PostgreSQL.</summary>
[Collection(SubscriptionGroup.Name)]
public sealed class SubscriptionControlTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_report_lag_stop_on_pause_continue_on_resume_and_rebuild_the_same_read_model(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (handlers, projection, probe, effects) = ($"ledger-handlers-{run}", $"ledger-totals-{run}", $"probe-{run}", $"effects-{run}");
        var log = new DeliveryLog();
        await using var host = await LedgerHost.StartAsync(database, log, domain => domain
            .AddHandler<DeliveryProbeHandler>(h => { h.Name = probe; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = effects; h.Delivery = HandlerDelivery.Durable; })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(handlers, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; })
            .AddProjection<LedgerProjector>(projection, p => p.Tag = LedgerAggregate.Tag));

        var ledgers = Enumerable.Range(0, 4).Select(i => $"{run}-{i}").ToArray();
        await Task.WhenAll(ledgers.Select(l => host.RecordAsync(l, 50, perCommand: 10)));
        var caughtUp = await host.WaitUntilCaughtUpAsync(handlers);
        await host.WaitUntilCaughtUpAsync(projection);
        Assert.Equal(200, log.Distinct(probe, run));
        Assert.Equal([probe, effects], caughtUp.Handlers);
        Assert.Equal(("fast", 10, 10), (caughtUp.Profile, caughtUp.BatchSize, caughtUp.CheckpointEvery));

        // Live delivery: each new event reaches the durable handler. The latency (command reply to delivery) is printed
        // for the record; speed is measured in bench/, not asserted here.
        var latencies = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var seen = log.Distinct(probe, run);
            var sent = System.Diagnostics.Stopwatch.StartNew();
            await host.RecordAsync(ledgers[0], 1);
            await PipelineHost.WaitUntilAsync(() => log.Distinct(probe, run) > seen, "the event is delivered");
            latencies.Add(sent.Elapsed.TotalMilliseconds);
        }

        latencies.Sort();
        output.WriteLine($"live latency ({provider}): median {latencies[2]:0} ms, max {latencies[^1]:0} ms");
        Console.WriteLine($"[subscription latency] {provider}: median {latencies[2]:0} ms, max {latencies[^1]:0} ms");
        await host.WaitUntilCaughtUpAsync(handlers);
        await host.WaitUntilCaughtUpAsync(projection);

        // Paused: the checkpoint stays, nothing is delivered, and the lag counts exactly what was written meanwhile.
        var paused = await host.Subscriptions().PauseAsync(handlers);
        await host.Subscriptions().PauseAsync(projection);
        Assert.Equal(SubscriptionState.Paused, paused.Status.State);
        await Task.WhenAll(ledgers.Select(l => host.RecordAsync(l, 15, perCommand: 5)));
        await Task.Delay(1200);
        var lagging = await host.StatusAsync(handlers);
        var laggingProjection = await host.StatusAsync(projection);
        output.WriteLine($"paused: {lagging}");
        Assert.Equal(SubscriptionState.Paused, lagging.State);
        Assert.Equal(paused.Status.Checkpoint, lagging.Checkpoint);
        Assert.Equal(60, lagging.LagEvents);
        Assert.Equal(60, laggingProjection.LagEvents);
        Assert.Equal(lagging.Head, laggingProjection.Head);
        Assert.InRange(lagging.LagSeconds, 1.0, 60);
        Assert.Equal(205, log.Distinct(probe, run));
        Assert.Equal(205, (await host.ProjectionRowsAsync(run)).Sum(r => r.Events));

        // Resumed: it continues from the checkpoint.
        Assert.Equal(SubscriptionState.Running, (await host.Subscriptions().ResumeAsync(handlers)).Status.State);
        await host.Subscriptions().ResumeAsync(projection);
        var resumed = await host.WaitUntilCaughtUpAsync(handlers);
        await host.WaitUntilCaughtUpAsync(projection);
        Assert.Equal(lagging.Head, resumed.Head);
        Assert.Equal(0, resumed.LagSeconds);
        Assert.Equal(265, log.Distinct(probe, run));
        Assert.Equal(265, log.Count(probe, run)); // no redelivery without a crash
        Assert.Equal(ledgers.Select(l => (l, l == ledgers[0] ? 70L : 65L)), (await host.EffectRowsAsync(effects, run)).Select(r => (r.LedgerId, r.Applied)));

        // Rebuild: the read model is cleared and replayed to the same rows, while the handler subscription runs on.
        var incremental = (await host.ProjectionRowsAsync(run)).Select(r => (r.LedgerId, r.Events, r.AmountSum, r.LastIndex, r.OutOfOrder)).ToArray();
        Assert.Equal(ledgers.Select(l => l == ledgers[0] ? (l, 70L, 70L, 70L, 0L) : (l, 65L, 65L, 65L, 0L)), incremental);
        var rebuilt = await host.Subscriptions().RebuildAsync(projection);
        Assert.Equal("rebuild", rebuilt.Operation);
        await host.RecordAsync(ledgers[0], 5);
        await host.WaitUntilCaughtUpAsync(projection);
        await host.WaitUntilCaughtUpAsync(handlers);
        var replayed = (await host.ProjectionRowsAsync(run)).Select(r => (r.LedgerId, r.Events, r.AmountSum, r.LastIndex, r.OutOfOrder)).ToArray();
        Assert.Equal(incremental.Select(r => r.LedgerId == ledgers[0] ? (r.LedgerId, 75L, 75L, 75L, 0L) : r), replayed);
        Assert.Equal(270, log.Distinct(probe, run));
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_replay_from_a_reset_position_with_effects_still_applied_once(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (handlers, probe, effects) = ($"ledger-reset-{run}", $"probe-{run}", $"effects-{run}");
        var log = new DeliveryLog();
        await using var host = await LedgerHost.StartAsync(database, log, domain => domain
            .AddHandler<DeliveryProbeHandler>(h => { h.Name = probe; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = effects; h.Delivery = HandlerDelivery.Durable; })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(handlers, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "debug"; s.BatchSize = 20; s.CheckpointEvery = 20; }));
        await host.RecordAsync($"{run}-a", 30);
        var first = await host.WaitUntilCaughtUpAsync(handlers);

        var reset = await host.Subscriptions().ResetAsync(handlers, first.Head - 30);
        Assert.Equal(first.Head - 30, reset.Status.Checkpoint);
        await host.WaitUntilCaughtUpAsync(handlers);
        await PipelineHost.WaitUntilAsync(() => log.Count(probe, run) == 60, "every event is delivered again");

        var status = await host.StatusAsync(handlers);
        Assert.Equal(30, log.Distinct(probe, run));
        Assert.Equal(30, status.Redeliveries); // the guarded handler skipped each replayed event
        var effect = Assert.Single(await host.EffectRowsAsync(effects, run));
        Assert.Equal((30L, 30L), (effect.Applied, effect.AmountSum));

        var refused = await Assert.ThrowsAsync<SubscriptionOperationException>(() => host.Subscriptions().RebuildAsync(handlers));
        Assert.Equal(SubscriptionErrorCode.NotAProjection, refused.Failure.Code);
        var unknown = await Assert.ThrowsAsync<SubscriptionOperationException>(() => host.Subscriptions().PauseAsync("no-such-subscription"));
        Assert.Equal(SubscriptionErrorCode.UnknownSubscription, unknown.Failure.Code);
        var negative = await Assert.ThrowsAsync<SubscriptionOperationException>(() => host.Subscriptions().ResetAsync(handlers, -1));
        Assert.Equal(SubscriptionErrorCode.InvalidPosition, negative.Failure.Code);
    }
}
