using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.Users;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Host.Tests.Pipeline;

/// <summary>The sample domain in a real node: its handlers fan out, follow up, dead-letter, and its stock import streams.</summary>
public sealed class SampleDomainTests
{
    [Fact]
    public async Task Should_reduce_inventory_when_an_order_ships_and_fan_out_process_order_and_user_created()
    {
        var settings = ActorEventsTestHost.Settings(new Dictionary<string, string?> { ["Pipeline:MaxConcurrentEventHandlers"] = "3" });
        await using var host = await ActorEventsTestHost.StartAsync(SampleTestDomain.BuildNodeHost(settings));

        await host.AcceptAsync(new AddStock("sku-ship", 100));
        await host.AcceptAsync(new PlaceOrder("order-ship", "cust-1", "sku-ship", 10, 2.5m));
        var shipped = await host.AcceptAsync(new ShipOrder("order-ship"));

        Assert.Equal(["LoyaltyPointsHandler", "StockOnShipmentHandler"], shipped.HandlerOutcomes.Select(o => o.Handler).Order());
        Assert.All(shipped.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
        var inventory = await host.ReadStreamAsync("inventory", "sku-ship");
        var reduced = Assert.IsType<StockReduced>(inventory[^1].Event);
        Assert.Equal(90, reduced.OnHand);
        Assert.Equal(shipped.Events[0].CorrelationId, inventory[^1].CorrelationId);

        await host.AcceptAsync(new PlaceOrder("order-process", "cust-2", "sku-ship", 1, 9m));
        var processed = await host.AcceptAsync(new ProcessOrder("order-process"));
        Assert.Equal(4, processed.Events.Count);
        Assert.Equal(4, processed.HandlerOutcomes.Count);
        Assert.All(processed.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
        var outbox = host.Host.Services.GetRequiredService<InMemoryEmailOutbox>();
        Assert.Contains(outbox.Sent, e => e.To == "cust-2");

        // A suspended loyalty account is a permanent failure: straight to the dead-letter store, the command still accepted.
        await host.AcceptAsync(new PlaceOrder("order-suspended", "customer-013", "sku-ship", 1, 1m));
        var suspended = await host.AcceptAsync(new ShipOrder("order-suspended"));
        var deadLettered = Assert.Single(suspended.HandlerOutcomes, o => o.Status == HandlerStatus.DeadLettered);
        Assert.Equal("LoyaltyPointsHandler", deadLettered.Handler);
        Assert.Equal(1, deadLettered.Attempts);
        Assert.Equal(10, host.Host.Services.GetRequiredService<LoyaltyLedger>().Points["cust-1"]);

        var created = await host.AcceptAsync(new CreateUser("user-1", "ada@example.org", "Ada"));
        Assert.Equal(["AuditLogHandler", "WelcomeEmailHandler"], created.HandlerOutcomes.Select(o => o.Handler).Order());
        Assert.Contains(outbox.Sent, e => e.To == "ada@example.org");
        Assert.Contains(host.Host.Services.GetRequiredService<AuditTrail>().Entries, e => e.Contains("user user-1 created", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_import_stock_as_a_stream_of_line_results()
    {
        await using var host = await ActorEventsTestHost.StartAsync(SampleTestDomain.BuildNodeHost(ActorEventsTestHost.Settings()));

        var results = new List<StockLineImported>();
        await foreach (var line in host.Client.StreamAsync(new ImportStock([new StockLine("imp-1", 5), new StockLine("imp-1", 7), new StockLine("imp-2", 0)])))
        {
            results.Add(line);
        }

        Assert.Equal([5, 12], results.Take(2).Select(r => r.OnHand));
        Assert.False(results[2].Accepted);
        Assert.Contains("ValidationFailed", results[2].Error);
    }
}
