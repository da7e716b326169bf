using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Subscriptions.Sources;
using Npgsql;
using Akka.Actor;
using LinqToDB.Data;
using Akka.Persistence.Query;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Storage;

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

    [Fact]
    public async Task Should_not_pass_over_rows_it_has_not_read_when_a_full_page_ends_below_a_declared_gap()
    {
        using var database = TestDatabases.Create(PersistenceProviders.Sqlite);
        await using var host = await LedgerHost.StartAsync(database, new DeliveryLog(), _ => { });
        await host.RecordAsync("paged", 8, perCommand: 8);
        // Ordering 6 never committed; a reader of two rows per page declares it while its first page ends at 2.
        await using (var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open())
        {
            await db.ExecuteAsync("DELETE FROM tags WHERE ordering_id = 6; DELETE FROM journal WHERE ordering = 6");
        }

        var system = (ExtendedActorSystem)host.System;
        var source = new GapSafeJournalSource(host.Host.Services.GetRequiredService<ActorEventsDatabase>(), JournalHeadWatch.Get(system),
            new JournalRowDecoder(system, host.Host.Services.GetRequiredService<ActorEventsDomain>().Types), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100),
            system.Log);
        var tracker = new GapTracker(TimeSpan.Zero);

        // Read as a stream does: each page moves the position to its last element.
        var rows = new List<long>();
        var gaps = new List<long>();
        long position = 0;
        for (var page = 0; page < 10; page++)
        {
            var read = await source.ReadAsync(tracker, position, 2);
            if (read.Count == 0)
            {
                break;
            }

            rows.AddRange(read.Where(e => e.Event is Messages.EventEnvelope).Select(e => ((Sequence)e.Offset).Value));
            gaps.AddRange(read.Select(e => e.Event).OfType<SkippedJournalGap>().SelectMany(g => g.Orderings));
            position = read.Max(e => ((Sequence)e.Offset).Value);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 7L, 8L], rows);
        Assert.Equal([6L], gaps); // declared once, handed out with the page that reached it
    }

    /// <summary>
    /// PostgreSQL: a transaction that took its id after another one, but its ordering before it, holds that ordering while
    /// the other commits. The snapshot's xmax is then at most the held transaction's id (xmax is one past the highest
    /// <em>completed</em> id), so a gap judged against it would be declared permanent while the transaction that holds it
    /// is still open: the horizon of a missing ordering must be an id no running transaction can have reached.
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_await_an_ordering_whose_transaction_took_its_id_after_a_transaction_that_committed_above_it()
    {
        // A database of its own: the orderings it reads must be its own rows only, not those other tests write meanwhile.
        using var database = TestDatabases.CreateIsolated(PersistenceProviders.PostgreSql);
        await using var host = await LedgerHost.StartAsync(database, new DeliveryLog(), _ => { });
        await host.RecordAsync("horizon", 1, perCommand: 1);
        var first = database.Scalar("SELECT MAX(ordering) FROM journal");
        const string Copy = "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
            "SELECT created, deleted, persistence_id, sequence_number + {0}, message, manifest, identifier, writer_uuid FROM journal WHERE ordering = {1} RETURNING ordering";
        await using var earlier = new NpgsqlConnection(database.ConnectionString);
        await using var held = new NpgsqlConnection(database.ConnectionString);
        await earlier.OpenAsync();
        await held.OpenAsync();
        await using var earlierTransaction = await earlier.BeginTransactionAsync();
        await using var heldTransaction = await held.BeginTransactionAsync();
        await new NpgsqlCommand("SELECT pg_current_xact_id()", earlier, earlierTransaction).ExecuteScalarAsync();
        await new NpgsqlCommand("SELECT pg_current_xact_id()", held, heldTransaction).ExecuteScalarAsync();
        var heldOrdering = (long)(await new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, Copy, 1, first), held, heldTransaction).ExecuteScalarAsync())!;
        var later = (long)(await new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, Copy, 2, first), earlier, earlierTransaction).ExecuteScalarAsync())!;
        await earlierTransaction.CommitAsync();
        Assert.True(heldOrdering < later, $"the held transaction's ordering {heldOrdering} should be below the committed one's {later}");

        var system = (ExtendedActorSystem)host.System;
        var source = new GapSafeJournalSource(host.Host.Services.GetRequiredService<ActorEventsDatabase>(), JournalHeadWatch.Get(system),
            new JournalRowDecoder(system, host.Host.Services.GetRequiredService<ActorEventsDomain>().Types), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100),
            system.Log);
        var tracker = new GapTracker(TimeSpan.FromMinutes(1));
        var whileHeld = new List<EventEnvelope>(await source.ReadAsync(tracker, first, 500));
        await Task.Delay(GapTracker.EndedTransactionGrace * 2);
        whileHeld.AddRange(await source.ReadAsync(tracker, first, 500));

        Assert.DoesNotContain(whileHeld, e => e.Event is SkippedJournalGap);
        Assert.DoesNotContain(whileHeld, e => ((Sequence)e.Offset).Value >= heldOrdering);

        await heldTransaction.CommitAsync();
        var afterCommit = await source.ReadAsync(tracker, first, 500);
        Assert.Equal([heldOrdering, later], afterCommit.Where(e => e.Event is not SourcePassedOver).Select(e => ((Sequence)e.Offset).Value));
    }
}
