using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// What becomes of the rows of <c>ae_processed_events</c>: a reset with rerun clears those after its position, the pruner
/// deletes only what no redelivery can still need, a redelivered event dispatches the follow-ups stored with its row, and
/// a table of an earlier version gets the new columns. On SQLite and PostgreSQL.
/// </summary>
[Collection(SubscriptionGroup.Name)]
public sealed class ProcessedEventRowTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> NoPruning = new() { ["Subscriptions:ProcessedEventPruneInterval"] = "1.00:00:00" };

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_run_the_events_after_the_position_again_on_a_reset_with_rerun_and_skip_them_on_a_reset_without(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, effects, ledger) = ($"ledger-rerun-{run}", $"effects-{run}", $"{run}-a");
        var log = new DeliveryLog();
        await using var host = await StartEffectsHostAsync(database, log, subscription, effects);
        await host.RecordAsync(ledger, 30);
        await host.WaitUntilCaughtUpAsync(subscription);
        Assert.Equal(30L, Assert.Single(await host.EffectRowsAsync(effects, run)).Applied);

        // Rerun from the 20th entry: its last 10 events run again, their effects applied a second time.
        var afterTwentieth = OrderingOf(database, ledger, 20);
        var rerun = await host.Subscriptions().ResetAsync(subscription, afterTwentieth, rerun: true);
        Assert.Equal(afterTwentieth, rerun.Status.Checkpoint);
        await WaitUntilAsync(async () => (await host.EffectRowsAsync(effects, run)).Single().Applied == 40, "the last ten entries are applied again");
        await host.WaitUntilCaughtUpAsync(subscription);
        Assert.Equal(40, log.Count(effects, run));
        Assert.Equal(0, (await host.StatusAsync(subscription)).Redeliveries); // run, not skipped

        // Without rerun the same reset skips them: their rows are there again.
        await host.Subscriptions().ResetAsync(subscription, afterTwentieth);
        await WaitUntilAsync(async () => (await host.StatusAsync(subscription)).Redeliveries == 10, "the ten replayed entries are skipped");
        await host.WaitUntilCaughtUpAsync(subscription);
        var effect = Assert.Single(await host.EffectRowsAsync(effects, run));
        Assert.Equal((40L, 40L), (effect.Applied, effect.AmountSum));
        Assert.Equal(40, log.Count(effects, run));
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_prune_only_rows_older_than_the_retention_whose_event_is_behind_the_checkpoint_and_not_dead_lettered(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, effects, ledger) = ($"ledger-prune-{run}", $"effects-{run}", $"{run}-a");
        var stream = StreamNames.For(LedgerAggregate.TypeName, ledger);
        await using var host = await StartEffectsHostAsync(database, new DeliveryLog(), subscription, effects);
        await host.RecordAsync(ledger, 20);
        await host.WaitUntilCaughtUpAsync(subscription);
        await host.Subscriptions().PauseAsync(subscription);
        var events = await host.ReadStreamAsync(LedgerAggregate.TypeName, ledger);
        var services = host.Host.Services;

        // The checkpoint is put back after the 10th entry: the rows of entries 11-20 are still needed by a redelivery.
        await services.GetRequiredService<CheckpointStore>().MoveAsync(subscription, OrderingOf(database, ledger, 10));
        // Entry 3 has an open dead letter (of another handler).
        await services.GetRequiredService<IDeadLetterStore>().AddAsync(
            new NewDeadLetter($"other-{run}", events[2], new HandlerFailure("Test", "refused", null, true), 1, DateTimeOffset.UtcNow));
        var (followUpOfFifth, followUpOfFifteenth, legacy, unfed) = ($"fu5-{run}", $"fu15-{run}", $"legacy-{run}", $"unfed-{run}");
        await using (var db = services.GetRequiredService<ActorEventsDatabase>().Open())
        {
            var now = DateTime.UtcNow;
            await db.InsertAsync(new ProcessedEventRow { Handler = effects, EventId = followUpOfFifth, ProcessedAt = now, PersistenceId = stream, SequenceNr = 0, CausationId = events[4].EventId });
            await db.InsertAsync(new ProcessedEventRow { Handler = effects, EventId = followUpOfFifteenth, ProcessedAt = now, PersistenceId = stream, SequenceNr = 0, CausationId = events[14].EventId });
            await db.InsertAsync(new ProcessedEventRow { Handler = effects, EventId = legacy, ProcessedAt = now });
            await db.InsertAsync(new ProcessedEventRow { Handler = $"gone-{run}", EventId = unfed, ProcessedAt = now, PersistenceId = stream, SequenceNr = 15 });
        }

        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var pruner = new ProcessedEventPruner(services.GetRequiredService<ActorEventsDatabase>(), services.GetRequiredService<ActorEventsDomain>().Subscriptions,
            TimeSpan.FromDays(7), clock, batchSize: 3);
        var all = events.Select(e => e.EventId).Concat([followUpOfFifth, followUpOfFifteenth, legacy, unfed]).ToHashSet();
        Assert.Equal(all, await KeptAsync(host, all));

        // Within the retention nothing goes.
        clock.Now += TimeSpan.FromDays(6);
        Assert.Equal(0, await pruner.PruneAsync());
        Assert.Equal(all, await KeptAsync(host, all));

        // Past it: the rows of entries 1-10 but the dead-lettered 3rd, the follow-up whose parent row went with them, the row
        // without a journal link and the row of a handler no subscription feeds. Kept: entries 11-20, and the follow-up of the 15th.
        clock.Now += TimeSpan.FromDays(2);
        var pruned = await pruner.PruneAsync();
        var kept = events.Skip(10).Select(e => e.EventId).Append(events[2].EventId).Append(followUpOfFifteenth).ToHashSet();
        Assert.Equal(kept, await KeptAsync(host, all));
        Assert.Equal(all.Count - kept.Count, pruned);

        // Once the checkpoint has passed the 20th entry, its rows go too, and so does the follow-up of the 15th.
        await services.GetRequiredService<CheckpointStore>().MoveAsync(subscription, OrderingOf(database, ledger, 20));
        Assert.Equal(11, await pruner.PruneAsync());
        Assert.Equal([events[2].EventId], await KeptAsync(host, all));
        output.WriteLine($"pruned {pruned} + 11 rows ({provider}); kept the dead-lettered one");
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_dispatch_the_follow_ups_of_a_guarded_handler_again_when_its_event_is_redelivered_after_a_crash(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, parent, child, ledger) = ($"follow-ups-{run}", $"parent-{run}", $"child-{run}", $"{run}-a");
        var log = new DeliveryLog();
        using var crash = new FollowUpCrash(run);
        void Domain(ActorEventsDomainBuilder domain) => domain
            .AddMessageType<LedgerFollowedUp>()
            .AddHandler<FollowUpParent>(h => { h.Name = parent; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<BlockingFollowUpEffects>(h => { h.Name = child; h.Delivery = HandlerDelivery.Durable; h.Retry = r => r.InvocationTimeout = TimeSpan.FromMinutes(5); })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(subscription, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; s.Handlers.Add(parent); s.Handlers.Add(child); });
        void Services(IServiceCollection services) => services.AddSingleton(crash);

        try
        {
            var first = await LedgerHost.StartAsync(database, log, Domain, NoPruning, LedgerHost.CrashOnTerminate, Services);
            try
            {
                await first.RecordAsync(ledger, 1);
                // The parent's row (with its follow-up) has committed; the follow-up's handler is running and will not finish.
                var blocked = await crash.Blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(1, database.Scalar($"SELECT COUNT(*) FROM ae_processed_events WHERE handler = '{parent}' AND follow_ups IS NOT NULL"));
                Assert.Equal(0, database.Scalar($"SELECT COUNT(*) FROM ae_processed_events WHERE handler = '{child}'"));
                output.WriteLine($"follow-up {blocked} blocked; crashing");
                await first.System.Terminate(); // a crash: no hand-over, no last checkpoint; the batch never completed
            }
            finally
            {
                await first.DisposeAsync();
            }

            await using var second = await LedgerHost.StartAsync(database, log, Domain, NoPruning, LedgerHost.CrashOnTerminate, Services);
            await WaitUntilAsync(async () => (await second.EffectRowsAsync(child, run)).Count == 1, "the redelivered event's follow-up is handled");
            await second.WaitUntilCaughtUpAsync(subscription);

            // The parent ran once (its redelivery was skipped); its follow-up ran again under the id it had, once.
            var recorded = Assert.Single(await second.ReadStreamAsync(LedgerAggregate.TypeName, ledger));
            Assert.Equal(1, log.Count(parent, run));
            Assert.Equal(1, database.Scalar($"SELECT redeliveries FROM ae_processed_events WHERE handler = '{parent}' AND event_id = '{recorded.EventId}'"));
            Assert.Equal([await crash.Blocked.Task], crash.Handled);
            var effect = Assert.Single(await second.EffectRowsAsync(child, run));
            Assert.Equal((1L, 1L), (effect.Applied, effect.AmountSum));
        }
        finally
        {
            crash.Release(); // the first host's blocked run ends (it fails: nothing of it commits)
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_count_every_dead_letter_and_parked_follower_of_a_subscription_in_its_status(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, effects) = ($"ledger-count-{run}", $"effects-{run}");
        await using var host = await StartEffectsHostAsync(database, new DeliveryLog(), subscription, effects);
        await host.RecordAsync($"{run}-a", 3);
        var events = await host.ReadStreamAsync(LedgerAggregate.TypeName, $"{run}-a");
        var store = host.Host.Services.GetRequiredService<IDeadLetterStore>();

        // More entries than one listing returns (1,000), and three followers parked on two of them.
        var failure = new HandlerFailure("Test", "refused", null, true);
        var ids = new List<long>();
        for (var i = 0; i < 1001; i++)
        {
            ids.Add(await store.AddAsync(new NewDeadLetter(effects, events[0] with { EventId = $"{run}-{i}", AggregateId = $"{run}-dead-{i}" }, failure, 1, DateTimeOffset.UtcNow)));
        }

        await store.AddFollowerAsync(ids[0], events[1]);
        await store.AddFollowerAsync(ids[0], events[2]);
        await store.AddFollowerAsync(ids[1000], events[1]);

        var status = await host.StatusAsync(subscription);
        Assert.Equal((1001, 3), (status.DeadLetters, status.Parked));
    }

    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_add_the_new_columns_to_a_processed_event_table_of_an_earlier_version_and_prune_its_old_rows_by_age(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, effects) = ($"ledger-migrate-{run}", $"effects-{run}");
        // The table as the first version created it, with a row of that version.
        database.Execute("""
            CREATE TABLE ae_processed_events (handler text NOT NULL, event_id text NOT NULL, processed_at timestamp NOT NULL,
                redeliveries integer NOT NULL, CONSTRAINT "PK_ae_processed_events" PRIMARY KEY (handler, event_id))
            """);
        database.Execute($"INSERT INTO ae_processed_events VALUES ('{effects}', 'before-{run}', '2020-01-01 00:00:00', 2)");

        await using var host = await StartEffectsHostAsync(database, new DeliveryLog(), subscription, effects);
        await host.RecordAsync($"{run}-a", 5);
        await host.WaitUntilCaughtUpAsync(subscription);

        Assert.Equal(5L, Assert.Single(await host.EffectRowsAsync(effects, run)).Applied);
        Assert.Equal(5, database.Scalar($"SELECT COUNT(*) FROM ae_processed_events WHERE handler = '{effects}' AND sequence_nr > 0 AND persistence_id IS NOT NULL"));
        Assert.Equal(2, (await host.StatusAsync(subscription)).Redeliveries);

        var services = host.Host.Services;
        var pruner = new ProcessedEventPruner(services.GetRequiredService<ActorEventsDatabase>(), services.GetRequiredService<ActorEventsDomain>().Subscriptions, TimeSpan.FromDays(7));
        Assert.Equal(1, await pruner.PruneAsync()); // the row from before: by age; the new ones are younger than the retention
        Assert.Equal(0, database.Scalar($"SELECT COUNT(*) FROM ae_processed_events WHERE event_id = 'before-{run}'"));
    }

    /// <summary>A node whose <paramref name="subscription"/> feeds the guarded <see cref="LedgerEffectsHandler"/> as <paramref name="effects"/>; its pruner does not run during a test.</summary>
    private static Task<ActorEventsTestHost> StartEffectsHostAsync(TestDatabase database, DeliveryLog log, string subscription, string effects) =>
        LedgerHost.StartAsync(database, log, domain => domain
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = effects; h.Delivery = HandlerDelivery.Durable; })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(subscription, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; }), NoPruning);

    /// <summary>The journal ordering of entry <paramref name="sequenceNr"/> of a ledger.</summary>
    private static long OrderingOf(TestDatabase database, string ledger, int sequenceNr) => database.Scalar(
        $"SELECT ordering FROM journal WHERE persistence_id = '{StreamNames.For(LedgerAggregate.TypeName, ledger)}' AND sequence_number = {sequenceNr}");

    /// <summary>Which of these event ids still have a row.</summary>
    private static async Task<HashSet<string>> KeptAsync(ActorEventsTestHost host, IReadOnlyCollection<string> eventIds)
    {
        var ids = eventIds.ToArray();
        await using var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open();
        return (await db.GetTable<ProcessedEventRow>().Where(r => ids.Contains(r.EventId)).Select(r => r.EventId).ToListAsync()).ToHashSet();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}

/// <summary>A follow-up event of the ledger, emitted by a handler (not persisted).</summary>
[MessageName("ledger.followed-up")]
public sealed record LedgerFollowedUp(string LedgerId, int Index) : IEvent;

/// <summary>Holds the first run of <see cref="BlockingFollowUpEffects"/> of one test until the test lets it go.</summary>
public sealed class FollowUpCrash(string run) : IDisposable
{
    private readonly CancellationTokenSource _released = new();
    private int _blocked;

    /// <summary>The test's ledgers start with this.</summary>
    public string Run { get; } = run;

    /// <inheritdoc />
    public void Dispose() => _released.Dispose();

    /// <summary>The event id of the follow-up whose run is held.</summary>
    public TaskCompletionSource<string> Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The follow-ups handled to the end, in order.</summary>
    public List<string> Handled { get; } = [];

    /// <summary>Holds the caller, the first time only, until <see cref="Release"/>.</summary>
    public Task HoldFirstAsync(string eventId)
    {
        if (Interlocked.Exchange(ref _blocked, 1) == 1)
        {
            return Task.CompletedTask;
        }

        Blocked.TrySetResult(eventId);
        return Task.Delay(Timeout.Infinite, _released.Token);
    }

    public void Release() => _released.Cancel();
}

/// <summary>A guarded durable handler that emits a follow-up for every entry of the test's ledgers (and has no other effect).</summary>
public sealed class FollowUpParent(FollowUpCrash crash, DeliveryLog log) : IHandle<Recorded>
{
    public Task HandleAsync(Recorded @event, EventContext context)
    {
        if (@event.LedgerId.StartsWith(crash.Run, StringComparison.Ordinal))
        {
            log.Deliveries.Enqueue((context.HandlerName, context.Envelope.EventId, @event.LedgerId, @event.Index, string.Empty, DateTime.UtcNow));
            context.Emit(new LedgerFollowedUp(@event.LedgerId, @event.Index));
        }

        return Task.CompletedTask;
    }
}

/// <summary>A guarded durable handler of the follow-ups: adds to the ledger effects; its first run never ends by itself.</summary>
public sealed class BlockingFollowUpEffects(FollowUpCrash crash) : IHandle<LedgerFollowedUp>
{
    public async Task HandleAsync(LedgerFollowedUp @event, EventContext context)
    {
        await crash.HoldFirstAsync(context.Envelope.EventId);
        LedgerEffectsHandler.Add(context, @event.LedgerId, 1);
        lock (crash.Handled)
        {
            crash.Handled.Add(context.Envelope.EventId);
        }
    }
}
