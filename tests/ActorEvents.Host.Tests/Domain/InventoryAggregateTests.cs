using ActorEvents.Actors.Aggregates;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Domain;

public sealed class InventoryAggregateTests
{
    private static readonly InventoryAggregate Inventory = new();
    private static readonly StockAdded Ten = new("sku-1", 10, 10);

    [Fact]
    public void Should_create_an_inventory_item_when_stock_is_first_added()
    {
        AggregateScenario.For(Inventory)
            .When(new AddStock("sku-1", 10))
            .Then(Ten)
            .ThenState(new InventoryState(10));
    }

    [Fact]
    public void Should_add_stock_on_top_of_what_is_on_hand()
    {
        AggregateScenario.For(Inventory).Given(Ten)
            .When(new AddStock("sku-1", 5))
            .Then(new StockAdded("sku-1", 5, 15))
            .ThenState(new InventoryState(15));
    }

    [Fact]
    public void Should_reduce_stock_for_an_order()
    {
        AggregateScenario.For(Inventory).Given(Ten)
            .When(new ReduceStock("sku-1", 4, "o-1"))
            .Then(new StockReduced("sku-1", 4, "o-1", 6))
            .ThenState(new InventoryState(6));
    }

    [Fact]
    public void Should_reduce_stock_down_to_exactly_zero()
    {
        AggregateScenario.For(Inventory).Given(Ten)
            .When(new ReduceStock("sku-1", 10, "o-1"))
            .Then(new StockReduced("sku-1", 10, "o-1", 0))
            .ThenState(new InventoryState(0));
    }

    [Fact]
    public void Should_reject_reducing_more_stock_than_is_on_hand()
    {
        AggregateScenario.For(Inventory).Given(Ten, new StockReduced("sku-1", 7, "o-1", 3))
            .When(new ReduceStock("sku-1", 4, "o-2"))
            .ThenRejected(RejectionCode.DomainRuleViolation, "only 3 of sku-1 on hand, 4 requested");
    }

    [Fact]
    public void Should_reject_reducing_stock_of_an_unknown_sku()
    {
        AggregateScenario.For(Inventory)
            .When(new ReduceStock("sku-404", 1, "o-1"))
            .ThenRejected(RejectionCode.AggregateNotFound);
    }

    [Fact]
    public void Should_restore_stock_of_a_cancelled_order()
    {
        AggregateScenario.For(Inventory).Given(Ten, new StockReduced("sku-1", 4, "o-1", 6))
            .When(new RestoreStock("sku-1", 4, "o-1"))
            .Then(new StockRestored("sku-1", 4, "o-1", 10))
            .ThenState(new InventoryState(10));
    }

    [Fact]
    public void Should_reject_restoring_stock_of_an_unknown_sku()
    {
        AggregateScenario.For(Inventory)
            .When(new RestoreStock("sku-404", 1, "o-1"))
            .ThenRejected(RejectionCode.AggregateNotFound);
    }

    public static TheoryData<IInventoryCommand> NonPositiveQuantities() =>
    [
        new AddStock("sku-1", 0),
        new AddStock("sku-1", -1),
        new ReduceStock("sku-1", 0, "o-1"),
        new ReduceStock("sku-1", -5, "o-1"),
        new RestoreStock("sku-1", 0, "o-1"),
        new RestoreStock("sku-1", int.MinValue, "o-1"),
    ];

    [Theory]
    [MemberData(nameof(NonPositiveQuantities))]
    public void Should_refuse_a_non_positive_quantity_in_the_validation_hook(IInventoryCommand command)
    {
        Assert.Equal("quantity must be positive", Inventory.Validate(command));
        AggregateScenario.For(Inventory).Given(Ten).When(command).ThenRejected(RejectionCode.ValidationFailed, "quantity must be positive");
    }

    [Fact]
    public void Should_pass_positive_quantities_through_the_validation_hook()
    {
        Assert.Null(Inventory.Validate(new AddStock("sku-1", 1)));
        Assert.Null(Inventory.Validate(new ReduceStock("sku-1", 1, "o-1")));
        Assert.Null(Inventory.Validate(new RestoreStock("sku-1", 1, "o-1")));
    }

    [Fact]
    public void Should_expect_add_stock_either_way_and_reduce_or_restore_to_find_the_item()
    {
        Assert.Equal(CommandExpectation.Any, Inventory.Expect(new AddStock("sku-1", 1)));
        Assert.Equal(CommandExpectation.MustExist, Inventory.Expect(new ReduceStock("sku-1", 1, "o-1")));
        Assert.Equal(CommandExpectation.MustExist, Inventory.Expect(new RestoreStock("sku-1", 1, "o-1")));
    }

    [Fact]
    public void Should_take_the_on_hand_figure_from_each_event_when_applying()
    {
        var state = new IInventoryEvent[]
            {
                Ten, new StockReduced("sku-1", 4, "o-1", 6), new StockRestored("sku-1", 2, "o-1", 8), new StockAdded("sku-1", 1, 9),
            }
            .Aggregate(Inventory.InitialState, Inventory.Apply);

        Assert.Equal(new InventoryState(9), state);
        Assert.Equal(InventoryState.Empty, Inventory.InitialState);
    }

    [Fact]
    public void Should_reject_directly_in_decide_when_stock_is_insufficient()
    {
        var decision = Inventory.Decide(new InventoryState(2), new ReduceStock("sku-1", 3, "o-1"));

        Assert.True(decision.IsRejected);
        Assert.Equal(RejectionCode.DomainRuleViolation, decision.RejectionCode);
        Assert.Empty(decision.Events);
    }
}
