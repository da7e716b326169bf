using ActorEvents.Actors.Aggregates;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Domain;

public sealed class OrderAggregateTests
{
    private static readonly OrderAggregate Order = new();
    private static readonly OrderPlaced Placed = new("o-1", "c-1", "sku-1", 3, new Money(2.50m, "EUR"));

    [Fact]
    public void Should_place_a_new_order()
    {
        AggregateScenario.For(Order)
            .When(new PlaceOrder("o-1", "c-1", "sku-1", 3, 2.50m))
            .Then(Placed)
            .ThenState(new OrderState(OrderStatus.Placed, "c-1", "sku-1", 3, new Money(2.50m, "EUR")));
    }

    [Fact]
    public void Should_compute_the_total_of_a_placed_order()
    {
        var state = AggregateScenario.For(Order).Given(Placed).State;

        Assert.Equal(7.50m, state.Total);
    }

    [Fact]
    public void Should_reject_placing_an_order_that_already_exists()
    {
        AggregateScenario.For(Order).Given(Placed)
            .When(new PlaceOrder("o-1", "c-2", "sku-2", 1, 1m))
            .ThenRejected(RejectionCode.AggregateAlreadyExists);
    }

    [Fact]
    public void Should_ship_a_placed_order_with_the_ordered_sku_and_quantity()
    {
        AggregateScenario.For(Order).Given(Placed)
            .When(new ShipOrder("o-1"))
            .Then(new OrderShipped("o-1", "sku-1", 3, "c-1"))
            .ThenState(new OrderState(OrderStatus.Shipped, "c-1", "sku-1", 3, new Money(2.50m, "EUR")));
    }

    [Fact]
    public void Should_reject_shipping_an_order_twice()
    {
        AggregateScenario.For(Order).Given(Placed, new OrderShipped("o-1", "sku-1", 3))
            .When(new ShipOrder("o-1"))
            .ThenRejected(RejectionCode.DomainRuleViolation, "already shipped");
    }

    [Fact]
    public void Should_reject_shipping_a_cancelled_order()
    {
        AggregateScenario.For(Order).Given(Placed, new OrderCancelled("o-1", "changed my mind"))
            .When(new ShipOrder("o-1"))
            .ThenRejected(RejectionCode.DomainRuleViolation, "cancelled");
    }

    [Fact]
    public void Should_reject_shipping_an_order_that_does_not_exist()
    {
        AggregateScenario.For(Order)
            .When(new ShipOrder("o-404"))
            .ThenRejected(RejectionCode.AggregateNotFound);
    }

    [Fact]
    public void Should_cancel_a_placed_order()
    {
        AggregateScenario.For(Order).Given(Placed)
            .When(new CancelOrder("o-1", "out of budget"))
            .Then(new OrderCancelled("o-1", "out of budget"))
            .ThenState(new OrderState(OrderStatus.Cancelled, "c-1", "sku-1", 3, new Money(2.50m, "EUR")));
    }

    [Fact]
    public void Should_reject_cancelling_a_shipped_order()
    {
        AggregateScenario.For(Order).Given(Placed, new OrderShipped("o-1", "sku-1", 3))
            .When(new CancelOrder("o-1", "too late"))
            .ThenRejected(RejectionCode.DomainRuleViolation, "shipped order cannot be cancelled");
    }

    [Fact]
    public void Should_reject_cancelling_an_order_twice()
    {
        AggregateScenario.For(Order).Given(Placed, new OrderCancelled("o-1", "first"))
            .When(new CancelOrder("o-1", "second"))
            .ThenRejected(RejectionCode.DomainRuleViolation, "already cancelled");
    }

    [Fact]
    public void Should_reject_cancelling_an_order_that_does_not_exist()
    {
        AggregateScenario.For(Order)
            .When(new CancelOrder("o-404", "nope"))
            .ThenRejected(RejectionCode.AggregateNotFound);
    }

    [Theory]
    [InlineData(0, 1.0, "sku", "c", "quantity must be positive")]
    [InlineData(-2, 1.0, "sku", "c", "quantity must be positive")]
    [InlineData(1, -0.01, "sku", "c", "unit price must not be negative")]
    [InlineData(1, 1.0, " ", "c", "sku is required")]
    [InlineData(1, 1.0, "sku", "", "customer is required")]
    public void Should_refuse_an_invalid_place_order_in_the_validation_hook(int quantity, double price, string sku, string customer, string error)
    {
        var command = new PlaceOrder("o-1", customer, sku, quantity, (decimal)price);

        Assert.Equal(error, Order.Validate(command));
        AggregateScenario.For(Order).When(command).ThenRejected(RejectionCode.ValidationFailed, error);
    }

    [Fact]
    public void Should_accept_a_free_order_in_the_validation_hook()
    {
        Assert.Null(Order.Validate(new PlaceOrder("o-1", "c-1", "sku-1", 1, 0m)));
        Assert.Null(Order.Validate(new ShipOrder("o-1")));
        Assert.Null(Order.Validate(new CancelOrder("o-1", "")));
    }

    [Fact]
    public void Should_expect_place_to_create_and_ship_and_cancel_to_find_an_existing_order()
    {
        Assert.Equal(CommandExpectation.MustNotExist, Order.Expect(new PlaceOrder("o-1", "c", "s", 1, 1m)));
        Assert.Equal(CommandExpectation.MustExist, Order.Expect(new ShipOrder("o-1")));
        Assert.Equal(CommandExpectation.MustExist, Order.Expect(new CancelOrder("o-1", "r")));
    }

    [Fact]
    public void Should_decide_without_side_effects_on_the_given_state()
    {
        var state = Order.Apply(Order.InitialState, Placed);

        var first = Order.Decide(state, new ShipOrder("o-1"));
        var second = Order.Decide(state, new ShipOrder("o-1"));

        Assert.False(first.IsRejected);
        Assert.Equal(first.Events, second.Events);
        Assert.Equal(OrderStatus.Placed, state.Status);
    }

    [Fact]
    public void Should_fold_the_full_history_into_the_state()
    {
        var state = new IOrderEvent[] { Placed, new OrderShipped("o-1", "sku-1", 3) }
            .Aggregate(Order.InitialState, Order.Apply);

        Assert.Equal(new OrderState(OrderStatus.Shipped, "c-1", "sku-1", 3, new Money(2.50m, "EUR")), state);
        Assert.Equal(OrderState.Empty, Order.InitialState);
    }

    [Fact]
    public void Should_process_a_placed_order_into_four_events_in_order()
    {
        AggregateScenario.For(Order).Given(Placed)
            .When(new ProcessOrder("o-1"))
            .Then(
                new OrderProcessed("o-1", 7.50m),
                new InventoryUpdateRequested("o-1", "sku-1", 3),
                new AuditLogRecorded("o-1", "order o-1 processed for c-1"),
                new EmailNotificationQueued("o-1", "c-1", "Your order o-1 is being prepared"))
            .ThenState(new OrderState(OrderStatus.Processed, "c-1", "sku-1", 3, new Money(2.50m, "EUR")));
    }

    [Fact]
    public void Should_ship_or_cancel_a_processed_order_but_not_process_it_again()
    {
        var processed = AggregateScenario.For(Order).Given(Placed, new OrderProcessed("o-1", 7.50m));

        processed.When(new ShipOrder("o-1")).Then(new OrderShipped("o-1", "sku-1", 3, "c-1"));
        processed.When(new CancelOrder("o-1", "r")).Then(new OrderCancelled("o-1", "r"));
        processed.When(new ProcessOrder("o-1")).ThenRejected(RejectionCode.DomainRuleViolation, "already processed");
    }

    [Fact]
    public void Should_list_the_concrete_order_commands_and_events_as_message_types()
    {
        var types = ((IAggregateDefinition)Order).MessageTypes().ToArray();

        Assert.Subset(types.ToHashSet(),
            new HashSet<Type> { typeof(PlaceOrder), typeof(ShipOrder), typeof(CancelOrder), typeof(OrderPlaced), typeof(OrderShipped), typeof(OrderCancelled) });
        Assert.All(types, t => Assert.True(typeof(IOrderCommand).IsAssignableFrom(t) || typeof(IOrderEvent).IsAssignableFrom(t), t.Name));
        Assert.All(types, t => Assert.False(t.IsAbstract || t.IsInterface, t.Name));
        Assert.Equal("order", Order.Name);
    }
}
