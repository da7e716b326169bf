using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// A projection that keeps failing on one event, and a journal row that cannot be decoded any more, go to the dead-letter
/// store and never stall the subscription; the aggregate's later events wait behind them, and a replay or skip applies
/// them in order.
/// </summary>
public sealed class PoisonEventTests
{
    private const string Projection = "ledger-totals";

    private static readonly Dictionary<string, string?> QuickRetries = new()
    {
        ["Pipeline:Retry:MaxRetries"] = "2",
        ["Pipeline:Retry:InitialDelay"] = "00:00:00.020",
        ["Pipeline:Retry:MaxDelay"] = "00:00:00.050",
    };

    [Fact]
    public async Task Should_dead_letter_a_poison_event_of_a_projection_go_on_and_apply_its_parked_followers_in_order_on_replay()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var log = new DeliveryLog();
        await using var host = await LedgerHost.StartAsync(database, log, domain => domain
            .AddProjection<LedgerProjector>(Projection, p => { p.Tag = LedgerAggregate.Tag; p.BatchSize = 3; }), QuickRetries);

        await host.RecordAsync("poisoned", 1);
        Assert.True((await host.SendAsync(new Record("poisoned", 1, LedgerProjector.PoisonAmount))).IsAccepted);
        await host.RecordAsync("poisoned", 2);
        await host.RecordAsync("healthy", 3);

        // The poison event is dead-lettered after 1 + 2 attempts and the rest of the journal is projected; the status
        // says what waits for an operator.
        var status = await CaughtUpAsync(host);
        Assert.Equal((SubscriptionState.Stalled, 1, 2), (status.State, status.DeadLetters, status.Parked));
        var rows = (await host.ProjectionRowsAsync("")).ToDictionary(r => r.LedgerId);
        Assert.Equal((3L, 3L, 0L), (rows["healthy"].Events, rows["healthy"].LastIndex, rows["healthy"].OutOfOrder));
        Assert.Equal((1L, 1L), (rows["poisoned"].Events, rows["poisoned"].LastIndex)); // 3 and 4 wait behind 2
        var entry = Assert.Single(await host.ListAsync());
        Assert.Equal((Projection, 2L, 3), (entry.Handler, entry.Envelope.SequenceNr, entry.Attempts));
        Assert.Equal("System.OverflowException", entry.ErrorType);
        Assert.Equal([3L, 4L], entry.ParkedFollowers.Select(f => f.SequenceNr));

        // A later event of that aggregate parks too; one of another aggregate does not.
        await host.RecordAsync("poisoned", 1);
        await host.RecordAsync("healthy", 1);
        await CaughtUpAsync(host);
        Assert.Equal([3L, 4L, 5L], Assert.Single(await host.ListAsync()).ParkedFollowers.Select(f => f.SequenceNr));
        Assert.Equal(4L, (await host.ProjectionRowsAsync("healthy")).Single().Events);

        // While the projector still fails, a replay fails and changes nothing.
        var failed = await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id));
        Assert.False(failed.Succeeded);
        Assert.Equal(4, Assert.Single(await host.ListAsync()).Attempts);

        // Fixed: the replay applies 2, then 3..5, in the transaction that removes the entry.
        log.ProjectorPoisoned = false;
        Assert.Equal(new DeadLetterReplayed(entry.Id, true, 3, null), await host.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        var replayed = (await host.ProjectionRowsAsync("poisoned")).Single();
        Assert.Equal((5L, 5L, 0L, 4L + LedgerProjector.PoisonAmount), (replayed.Events, replayed.LastIndex, replayed.OutOfOrder, replayed.AmountSum));
        Assert.Empty(await host.ListAsync());

        await host.RecordAsync("poisoned", 1);
        await CaughtUpAsync(host);
        Assert.Equal((6L, 0L), (await host.ProjectionRowsAsync("poisoned")).Single() is var after ? (after.Events, after.OutOfOrder) : default);
    }

    [Fact]
    public async Task Should_apply_only_the_followers_when_a_projections_dead_letter_is_skipped_or_purged()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var log = new DeliveryLog();
        await using var host = await LedgerHost.StartAsync(database, log, domain => domain
            .AddProjection<LedgerProjector>(Projection, p => p.Tag = LedgerAggregate.Tag), QuickRetries);
        foreach (var ledger in new[] { "skipped", "purged" })
        {
            Assert.True((await host.SendAsync(new Record(ledger, 1, LedgerProjector.PoisonAmount))).IsAccepted);
            await host.RecordAsync(ledger, 2);
        }

        await CaughtUpAsync(host);
        var entries = await host.ListAsync();
        Assert.Equal(["skipped", "purged"], entries.Select(e => e.Envelope.AggregateId));
        Assert.Equal(new DeadLetterSkipped(entries[0].Id, 2), await host.AskOfficeAsync<DeadLetterSkipped>(new SkipDeadLetter(entries[0].Id)));
        Assert.Equal(new DeadLettersPurged(1), await host.AskOfficeAsync<DeadLettersPurged>(new PurgeDeadLetters()));

        Assert.Empty(await host.ListAsync());
        foreach (var row in await host.ProjectionRowsAsync(""))
        {
            Assert.Equal((2L, 3L, 2L), (row.Events, row.LastIndex, row.AmountSum)); // 2 and 3 applied, 1 never
        }
    }

    [Fact]
    public async Task Should_dead_letter_an_undecodable_journal_row_with_its_payload_and_replay_it_once_its_type_is_registered_again()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        var log = new DeliveryLog();
        const string handler = nameof(LedgerEffectsHandler);
        void Subscriptions(ActorEventsDomainBuilder domain) => domain
            .AddProjection<LedgerProjector>(Projection, p => p.Tag = LedgerAggregate.Tag)
            .AddHandler<LedgerEffectsHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription("ledger-effects", s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; });

        await using (var writer = await LedgerHost.StartAsync(database, log, _ => { }))
        {
            await writer.RecordAsync("renamed", 3);
            await writer.RecordAsync("intact", 2);
        }

        // Entry 2 of one ledger now names a type this build does not register (as after renaming an event class).
        database.Execute("UPDATE journal SET message = CAST(replace(CAST(message AS TEXT), 'ledger.recorded', 'ledger.archived') AS BLOB) "
            + $"WHERE persistence_id = '{LedgerAggregate.TypeName}-renamed' AND sequence_number = 2");
        Assert.Equal(1, database.Scalar($"SELECT COUNT(*) FROM journal WHERE persistence_id = '{LedgerAggregate.TypeName}-renamed' AND CAST(message AS TEXT) LIKE '%ledger.archived%'"));

        long projectionEntry;
        await using (var reader = await LedgerHost.StartAsync(database, log, Subscriptions, QuickRetries))
        {
            await CaughtUpAsync(reader);
            await CaughtUpAsync(reader, "ledger-effects");
            await PipelineHost.WaitUntilAsync(() => reader.ListAsync().Result is { Count: 2 } all && all.All(e => e.ParkedFollowers.Count == 1),
                "the undecodable event is dead-lettered for the projection and for the handler, with entry 3 parked behind it");
            var entries = await reader.ListAsync();
            Assert.Equal([Projection, handler], entries.Select(e => e.Handler).Order(StringComparer.Ordinal).Reverse());
            foreach (var entry in entries)
            {
                var undecodable = Assert.IsType<UndecodableEvent>(entry.Envelope.Event);
                Assert.Equal(("ledger.archived", "ledger.archived", 2L), (entry.Envelope.EventType, undecodable.TypeName, entry.Envelope.SequenceNr));
                Assert.Contains("\"index\":2", undecodable.RawData, StringComparison.Ordinal);
                Assert.Equal(typeof(UndecodableEventException).FullName, entry.ErrorType);
            }

            var rows = (await reader.ProjectionRowsAsync("")).ToDictionary(r => r.LedgerId);
            Assert.Equal((2L, 1L), (rows["intact"].Events, rows["renamed"].Events));
            Assert.Equal([("intact", 2L), ("renamed", 1L)], (await reader.EffectRowsAsync(handler, "")).Select(r => (r.LedgerId, r.Applied)));

            // Replaying needs the type: refused, the entry stays.
            projectionEntry = entries.Single(e => e.Handler == Projection).Id;
            var refused = await reader.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(projectionEntry));
            Assert.False(refused.Succeeded);
            Assert.Contains("cannot be decoded", refused.Error, StringComparison.Ordinal);
            Assert.Equal(2, (await reader.ListAsync()).Count);
        }

        // The next version registers the type again: both entries replay, and what was parked follows in order.
        await using var fixedHost = await LedgerHost.StartAsync(database, log, domain => Subscriptions(domain.AddMessageType<Archived>()), QuickRetries);
        var decoded = await fixedHost.ListAsync();
        Assert.All(decoded, e => Assert.IsType<Archived>(e.Envelope.Event));
        foreach (var entry in decoded)
        {
            Assert.Equal(new DeadLetterReplayed(entry.Id, true, 1, null), await fixedHost.AskOfficeAsync<DeadLetterReplayed>(new ReplayDeadLetter(entry.Id)));
        }

        var renamed = (await fixedHost.ProjectionRowsAsync("renamed")).Single();
        Assert.Equal((3L, 3L, 0L), (renamed.Events, renamed.LastIndex, renamed.OutOfOrder));
        await PipelineHost.WaitUntilAsync(() => fixedHost.EffectRowsAsync(handler, "renamed").Result.Single().Applied == 2,
            "the handler's parked entry 3 runs (entry 2, now an Archived event, is none of its events)");
        Assert.Empty(await fixedHost.ListAsync());
    }

    /// <summary>Every event of the source handled (projected, dead-lettered or parked), whatever the state says of the parked ones.</summary>
    private static async Task<SubscriptionStatus> CaughtUpAsync(ActorEventsTestHost host, string subscription = Projection)
    {
        await PipelineHost.WaitUntilAsync(() => host.StatusAsync(subscription).Result is { LagEvents: 0, Head: > 0, State: SubscriptionState.Running or SubscriptionState.Stalled },
            $"{subscription} has handled its source");
        return await host.StatusAsync(subscription);
    }

}
