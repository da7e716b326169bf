using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Messages;
using ActorEvents.Tests.Infrastructure;
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
}
