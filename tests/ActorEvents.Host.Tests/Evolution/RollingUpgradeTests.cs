using System.Diagnostics;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Host.Tests.Evolution;

/// <summary>
/// A node of today's sample over a journal that a newer node also wrote (during a rolling upgrade), on SQLite and PostgreSQL:
/// <c>order.placed</c> v3 (a version it does not know) and <c>order.refunded</c> (a type it does not know). Commands to
/// those aggregates are answered <see cref="RejectionCode.UnreadableStream"/> at once, without a recovery loop (after the first,
/// which waited for the failed recovery and is answered <see cref="RejectionCode.AggregateUnavailable"/>), and the
/// projection dead-letters both rows and goes on.
/// </summary>
public sealed class RollingUpgradeTests
{
    [Theory]
    [MemberData(nameof(TestDatabases.Providers), MemberType = typeof(TestDatabases))]
    public async Task Should_refuse_commands_to_streams_it_cannot_read_and_dead_letter_their_events(string provider)
    {
        using var database = TestDatabases.CreateIsolated(provider);
        await using (await ActorEventsTestHost.StartAsync(database.Settings()))
        {
        }

        SampleV1Journal.Insert(database, SampleV1Journal.Journal(
            (1, "order", "o-20", 1, "order.placed", 3, """{"orderId":"o-20","customerId":"c-1","sku":"sku-a","quantity":1,"lines":[]}"""),
            (2, "order", "o-21", 1, "order.placed", 2, """{"orderId":"o-21","customerId":"c-1","sku":"sku-a","quantity":1,"unitPrice":{"amount":2,"currency":"EUR"}}"""),
            (3, "order", "o-21", 2, "order.refunded", 1, """{"orderId":"o-21","amount":2}""")));
        await using var host = await ActorEventsTestHost.StartAsync(database.Settings());

        foreach (var (order, reason) in new[] { ("o-20", "'order.placed' v3 is newer than the v2 this node knows"), ("o-21", "'order.refunded' is not registered") })
        {
            // The command that started the recovery waited in the entity's stash, which the failed recovery dead-letters:
            // it is answered AggregateUnavailable (retryable). Every later one gets the typed answer at once.
            var first = Assert.IsType<CommandRejected>(await host.SendAsync(new ShipOrder(order)));
            Assert.Contains(first.Code, new[] { RejectionCode.AggregateUnavailable, RejectionCode.UnreadableStream });
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var started = Stopwatch.GetTimestamp();
                var refused = Assert.IsType<CommandRejected>(await host.SendAsync(new ShipOrder(order)));
                Assert.Equal(RejectionCode.UnreadableStream, refused.Code);
                Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
                Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5), $"answered after {Stopwatch.GetElapsedTime(started)}");
            }
        }

        // A stream it can read is served as usual, and the projection went past the rows it cannot read.
        await host.AcceptAsync(new PlaceOrder("o-22", "c-2", "sku-a", 2, 3m));
        var subscriptions = host.Host.Services.GetRequiredService<ISubscriptionsClient>();
        await subscriptions.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        var totals = Assert.Single(await subscriptions.StatusAsync("order-totals"));
        Assert.Equal((SubscriptionState.Running, 2), (totals.State, totals.DeadLetters));
        Assert.Equal(
            [new OrderStatusTotal("placed", 2, 8m)],
            (await host.Client.QueryAsync(new GetOrderTotals())).ValueOrThrow().ByStatus);
    }
}
