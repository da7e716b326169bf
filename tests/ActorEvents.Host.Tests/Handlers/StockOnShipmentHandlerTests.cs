using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Handlers;

/// <summary>The sample's stock handler, given an event and run as a handler pool runs it (ActorEvents.TestKit's handler scenario).</summary>
public sealed class StockOnShipmentHandlerTests
{
    [Fact]
    public async Task Should_refuse_to_process_an_event_the_runtime_would_not_give_the_handler()
    {
        // The sample's stock handler listens to the order stream only, and takes its client from the container.
        await using var stock = HandlerScenario.For<StockOnShipmentHandler>(domain => domain.AddSampleDomain(), services => services.AddSampleServices());
        var shipped = new OrderShipped("o-1", "sku-1", 2);

        (await stock.ProcessAsync(shipped)).ThenSucceeded().ThenSent(new ReduceStock("sku-1", 2, "o-1"));
        var wrongStream = await Assert.ThrowsAsync<ScenarioAssertionException>(() => stock.ProcessAsync(shipped, new EventSource("inventory")));
        Assert.Contains("not subscribed", wrongStream.Message, StringComparison.Ordinal);

        stock.Client.Answer = command => new CommandRejected(RejectionCode.DomainRuleViolation, "not enough stock") { CommandId = "x" };
        Assert.Contains("not enough stock", (await stock.ProcessAsync(shipped)).ThenFailed<InvalidOperationException>().Message, StringComparison.Ordinal);
    }
}
