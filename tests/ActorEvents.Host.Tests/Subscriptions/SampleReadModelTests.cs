using ActorEvents.Actors.Subscriptions;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Host.Tests.Subscriptions;

/// <summary>A query nobody handles.</summary>
public sealed record GetNothing : IQuery<int>;

/// <summary>The sample domain's projections, durable shipment ledger and queries, through the client facade.</summary>
public sealed class SampleReadModelTests
{
    [Fact]
    public async Task Should_answer_queries_from_the_sample_projections_once_they_caught_up()
    {
        using var database = new TempSqliteDatabase();
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.SqliteSettings(database));
        await host.AcceptAsync(new AddStock("sku-a", 100));
        await host.AcceptAsync(new AddStock("sku-b", 50));
        foreach (var (order, sku, quantity, price) in new[] { ("o-1", "sku-a", 2, 10m), ("o-2", "sku-a", 3, 10m), ("o-3", "sku-b", 1, 2.5m), ("o-4", "sku-b", 4, 2.5m) })
        {
            await host.AcceptAsync(new PlaceOrder(order, "customer-1", sku, quantity, price));
        }

        await host.AcceptAsync(new ShipOrder("o-1"));
        await host.AcceptAsync(new ProcessOrder("o-2"));
        await host.AcceptAsync(new ShipOrder("o-3"));
        await host.AcceptAsync(new CancelOrder("o-4", "changed their mind"));

        var statuses = await host.Host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(["order-totals", "stock-levels", "order-shipments", "stock-on-shipment"], statuses.Select(s => s.Name));
        Assert.All(statuses, s => Assert.Equal((SubscriptionState.Running, 0L), (s.State, s.LagEvents)));
        Assert.Equal((SubscriptionKind.Projection, "aggregate:order", "projection"), (statuses[0].Kind, statuses[0].Source, statuses[0].Profile));
        Assert.Equal((SubscriptionKind.Handlers, "event:order.shipped", "fast"), (statuses[2].Kind, statuses[2].Source, statuses[2].Profile));
        Assert.Equal([nameof(ShipmentLedgerHandler)], statuses[2].Handlers);
        Assert.Equal((SubscriptionKind.Handlers, "event:order.shipped"), (statuses[3].Kind, statuses[3].Source));
        Assert.Equal([nameof(StockOnShipmentHandler)], statuses[3].Handlers);

        var totals = (await host.Client.QueryAsync(new GetOrderTotals())).ValueOrThrow();
        Assert.Equal(
            [new OrderStatusTotal("processed", 1, 30m), new OrderStatusTotal("shipped", 2, 22.5m), new OrderStatusTotal("cancelled", 1, 10m)],
            totals.ByStatus);

        // Shipments took stock through the in-request stock handler, once: its durable copy (stock-on-shipment, caught up)
        // sent the same command ids and was answered as duplicates. The projection saw those events too.
        var stock = (await host.Client.QueryAsync(new GetStockLevels())).ValueOrThrow();
        Assert.Equal([new StockLevel("sku-a", 98, 2, 2), new StockLevel("sku-b", 49, 2, 2)], stock.Skus);
        Assert.Equal([new StockLevel("sku-b", 49, 2, 2)], (await host.Client.QueryAsync(new GetStockLevels("sku-b"))).ValueOrThrow().Skus);

        var shipped = (await host.Client.QueryAsync(new GetShippedUnits())).ValueOrThrow();
        Assert.Equal([new ShippedSku("sku-a", 2, 1), new ShippedSku("sku-b", 1, 1)], shipped.Skus);

        var unknown = await host.Client.QueryAsync(new GetNothing());
        Assert.False(unknown.Succeeded);
        Assert.Equal(QueryErrorCode.UnknownQuery, unknown.Error!.Code);
    }

    [Fact]
    public async Task Should_answer_with_typed_errors_on_the_in_memory_provider()
    {
        await using var host = await ActorEventsTestHost.StartAsync();

        var query = await host.Client.QueryAsync(new GetOrderTotals());
        Assert.Equal(QueryErrorCode.ReadModelUnavailable, query.Error!.Code);

        var statuses = await host.Host.Services.GetRequiredService<ISubscriptionsClient>().StatusAsync();
        Assert.All(statuses, s => Assert.Equal(SubscriptionState.Disabled, s.State));
        var refused = await Assert.ThrowsAsync<SubscriptionOperationException>(() => host.Host.Services.GetRequiredService<ISubscriptionsClient>().PauseAsync("order-totals"));
        Assert.Equal(SubscriptionErrorCode.Disabled, refused.Failure.Code);
    }
}
