using System.Collections.Concurrent;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Persistence;

/// <summary>
/// De-duplication that matches "retry with the same command id": a hot aggregate recognises retries of commands applied
/// thousands of commands earlier, across snapshots and restarts, and answers them with the original events.
/// </summary>
public sealed class DeduplicationTests(ITestOutputHelper output)
{
    private const string Sku = "sku-hot";
    private const int Commands = 5000;
    private const int Senders = 64;

    [Fact]
    public async Task Should_answer_every_retry_of_an_applied_command_as_a_duplicate_on_a_hot_aggregate_across_snapshots_and_a_restart()
    {
        using var database = new TempSqliteDatabase();
        var settings = ActorEventsTestHost.SqliteSettings(database, new Dictionary<string, string?>
        {
            ["Aggregates:SnapshotEvery"] = "100", // 50 snapshots during the run: the memory must travel in them
            ["Mediator:CommandTimeout"] = "00:00:30",
        });
        var originals = new ConcurrentDictionary<string, EventEnvelope>();
        var order = new ConcurrentQueue<string>();
        var duplicates = new ConcurrentBag<(string Id, CommandResult Result)>();

        await using (var host = await ActorEventsTestHost.StartAsync(settings))
        {
            var next = -1;
            var resent = 0;
            async Task SendAsync()
            {
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= Commands)
                    {
                        return;
                    }

                    var id = $"add-{i}";
                    var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new AddStock(Sku, 1), new CommandMetadata(id)));
                    Assert.False(accepted.Duplicate);
                    originals[id] = Assert.Single(accepted.Events);
                    order.Enqueue(id);

                    // In the middle of the run: re-send an id acknowledged at least 100 commands earlier.
                    if (i >= Commands / 2 && i % 10 == 0 && Interlocked.Increment(ref resent) <= 50)
                    {
                        var earlier = order.ElementAt(Random.Shared.Next(0, order.Count - 100));
                        duplicates.Add((earlier, await host.SendAsync(new AddStock(Sku, 1), new CommandMetadata(earlier))));
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => Task.Run(SendAsync)));
        }

        Assert.Equal(50, duplicates.Count);
        foreach (var (id, result) in duplicates)
        {
            var duplicate = Assert.IsType<CommandAccepted>(result);
            Assert.True(duplicate.Duplicate, $"re-send of {id} was applied again");
            Assert.Equal(originals[id], Assert.Single(duplicate.Events));
        }

        // After a restart (recovery from the last snapshot plus the events after it): early and late ids are still known.
        await using (var host = await ActorEventsTestHost.StartAsync(settings))
        {
            foreach (var id in new[] { "add-0", "add-1", $"add-{Commands / 2}", $"add-{Commands - 1}" })
            {
                var duplicate = Assert.IsType<CommandAccepted>(await host.SendAsync(new AddStock(Sku, 1), new CommandMetadata(id)));
                Assert.True(duplicate.Duplicate, $"{id} after the restart was applied again");
                Assert.Equal(originals[id], Assert.Single(duplicate.Events));
            }

            var journal = await JournalReader.ReadAsync(host.System, StreamNames.For("inventory", Sku), TimeSpan.FromSeconds(60));
            Assert.Equal(Commands, journal.Count);
            Assert.Equal(Commands, journal.Select(e => e.CausationId).Distinct().Count());
            Assert.Equal(Enumerable.Range(1, Commands).Select(n => (long)n), journal.Select(e => e.SequenceNr));
            output.WriteLine($"journal: {journal.Count} events, {database.Scalar("SELECT COUNT(*) FROM snapshot")} snapshot rows");
        }
    }

    [Fact]
    public void Should_forget_a_command_once_it_is_older_than_the_retention_or_beyond_the_window()
    {
        var recent = new RecentCommands(capacity: 3, retention: TimeSpan.FromMinutes(10));
        var old = Envelope("old", DateTimeOffset.UtcNow.AddMinutes(-11));
        recent.Recovered(old);
        Assert.False(recent.TryGet("old", out _)); // applied 11 minutes ago: beyond the retention

        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            recent.Applied(id, [Envelope(id, DateTimeOffset.UtcNow)]);
        }

        Assert.False(recent.TryGet("a", out _)); // the fourth command pushed the first out of a window of 3
        Assert.True(recent.TryGet("b", out var events));
        Assert.Equal("b", Assert.Single(events).CausationId);
        Assert.Equal(3, recent.Count);
    }

    [Fact]
    public void Should_carry_the_remembered_commands_and_their_events_through_a_snapshot()
    {
        var recent = new RecentCommands(capacity: 100, retention: TimeSpan.FromMinutes(10));
        recent.Recovered(Envelope("a", DateTimeOffset.UtcNow, sequenceNr: 1));
        recent.Recovered(Envelope("a", DateTimeOffset.UtcNow, sequenceNr: 2)); // one command, two events
        recent.Applied("b", [Envelope("b", DateTimeOffset.UtcNow, sequenceNr: 3)]);

        var restored = new RecentCommands(capacity: 100, retention: TimeSpan.FromMinutes(10));
        restored.Load(recent.Snapshot(new StockOnHand(3)));

        Assert.True(restored.TryGet("a", out var events));
        Assert.Equal([1L, 2L], events.Select(e => e.SequenceNr));
        Assert.True(restored.TryGet("b", out _));
    }

    private static EventEnvelope Envelope(string commandId, DateTimeOffset at, long sequenceNr = 1) =>
        new(Guid.NewGuid().ToString("N"), "inventory.stock-added", 1, at, "node", "inventory", Sku, sequenceNr, "corr", commandId, null,
            new StockAdded(Sku, 1, (int)sequenceNr));
}
