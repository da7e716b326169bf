using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Subscriptions.Sources;
using ActorEvents.Tests.Infrastructure;
using Akka.Actor;
using LinqToDB.Data;
using Akka.Persistence.Query;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>What the gap-safe source hands out around a declared gap, read from a real journal.</summary>
public sealed class GapSafeJournalSourceTests
{
    [Fact]
    public async Task Should_hand_out_a_declared_gap_in_journal_order_after_the_rows_below_it()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        await using var host = await LedgerHost.StartAsync(database, new DeliveryLog(), _ => { });
        await host.RecordAsync("gappy", 6, perCommand: 6);
        // Ordering 3 never committed (a rolled-back write, as far as a reader can tell).
        await using (var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open())
        {
            await db.ExecuteAsync("DELETE FROM tags WHERE ordering_id = 3; DELETE FROM journal WHERE ordering = 3");
        }

        var system = (ExtendedActorSystem)host.System;
        var source = new GapSafeJournalSource(host.Host.Services.GetRequiredService<ActorEventsDatabase>(), JournalHeadWatch.Get(system),
            new JournalRowDecoder(system, host.Host.Services.GetRequiredService<ActorEventsDomain>().Types), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100),
            system.Log);

        var page = await source.ReadAsync(new GapTracker(TimeSpan.Zero), 0, 500);

        // A batch that ended at the gap's marker moves the position to 3: rows 1 and 2 must have come before it.
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], page.Select(e => ((Sequence)e.Offset).Value));
        Assert.Equal([3L], Assert.IsType<SkippedJournalGap>(page[2].Event).Orderings);
    }
}
