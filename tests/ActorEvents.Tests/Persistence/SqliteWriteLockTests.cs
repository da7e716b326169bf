using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Microsoft.Data.Sqlite;

namespace ActorEvents.Tests.Persistence;

/// <summary>
/// SQLite has one write lock. Reads of the journal (recovery, highest sequence number) must not need it: with
/// Microsoft.Data.Sqlite's default they began as BEGIN IMMEDIATE and queued behind every writer, so a node whose
/// subscriptions were catching up on a large journal could not even recover an aggregate to reject a command.
/// </summary>
public sealed class SqliteWriteLockTests
{
    [Fact]
    public async Task Should_recover_an_aggregate_and_answer_while_another_connection_holds_the_write_lock()
    {
        using var database = new TempSqliteDatabase();
        var settings = ActorEventsTestHost.Settings(new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "sqlite",
            ["Persistence:ConnectionString"] = database.ConnectionString,
        });
        await using (var first = await ActorEventsTestHost.StartAsync(settings))
        {
            Assert.IsType<CommandAccepted>(await first.SendAsync(new AddStock("sku-locked", 10)));
        }

        await using var second = await ActorEventsTestHost.StartAsync(settings);
        using var writer = new SqliteConnection(database.ConnectionString);
        writer.Open();
        using var transaction = writer.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: someone else holds the write lock

        // Answering needs the aggregate's state (recovered from the journal) and no write: it must not wait for the lock.
        var reply = await second.SendAsync(new ReduceStock("sku-locked", 1000, "order-locked")).WaitAsync(TimeSpan.FromSeconds(8));

        var rejected = Assert.IsType<CommandRejected>(reply);
        Assert.Equal(RejectionCode.DomainRuleViolation, rejected.Code);
        Assert.Contains("only 10 of sku-locked on hand", rejected.Message);
        transaction.Rollback();
    }

    [Fact]
    public async Task Should_answer_NotPersisted_only_for_writes_that_never_commit_while_another_connection_holds_the_write_lock_past_the_write_timeout()
    {
        using var database = new TempSqliteDatabase();
        var settings = ActorEventsTestHost.SqliteSettings(database, new Dictionary<string, string?> { ["Persistence:WriteTimeout"] = "00:00:01" });
        await using var host = await ActorEventsTestHost.StartAsync(settings);
        var skus = Enumerable.Range(0, 20).Select(i => $"sku-lock-{i}").ToArray();
        foreach (var sku in skus)
        {
            Assert.IsType<CommandAccepted>(await host.SendAsync(new AddStock(sku, 100)));
        }

        var results = new List<(string CommandId, string Sku, CommandResult Result)>();
        using (var writer = new SqliteConnection(database.ConnectionString))
        {
            writer.Open();
            using var transaction = writer.BeginTransaction(deferred: false); // the write lock, held for 4 write timeouts
            var during = skus.Select(async sku =>
            {
                var id = $"during-{sku}";
                return (id, sku, await host.SendAsync(new AddStock(sku, 1), new CommandMetadata(id)));
            }).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(4));
            transaction.Commit();
            results.AddRange(await Task.WhenAll(during));
        }

        // Every reply is either accepted (committed) or NotPersisted — and a NotPersisted write is not in the journal, ever.
        await Task.Delay(TimeSpan.FromSeconds(1)); // anything still queued would have committed by now
        var rejected = results.Where(r => r.Result is CommandRejected).ToArray();
        Assert.All(rejected, r => Assert.Equal(RejectionCode.NotPersisted, ((CommandRejected)r.Result).Code));
        Assert.NotEmpty(rejected);
        foreach (var (commandId, sku, result) in results)
        {
            var stored = await JournalReader.ReadAsync(host.System, StreamNames.For("inventory", sku));
            Assert.Equal(result is CommandAccepted ? 1 : 0, stored.Count(e => e.CausationId == commandId));
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(n => (long)n), stored.Select(e => e.SequenceNr)); // no gap
        }

        // The stall did not open the journal's circuit breaker: every aggregate takes a command at once.
        foreach (var sku in skus)
        {
            Assert.IsType<CommandAccepted>(await host.SendAsync(new AddStock(sku, 1)));
        }
    }
}
