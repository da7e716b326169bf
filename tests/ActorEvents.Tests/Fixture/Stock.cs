using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Fixture;

// The framework tests' stock: one "inventory" aggregate per SKU. Its messages carry the wire names the tests read
// from the journal ("inventory.stock-added", ...); a reduction beyond what is on hand is a domain rejection.

public interface IStockCommand : ICommand
{
    string Sku { get; }

    string ICommand.AggregateId => Sku;
}

[MessageName("inventory.add-stock")]
public sealed record AddStock(string Sku, int Quantity) : IStockCommand;

[MessageName("inventory.reduce-stock")]
public sealed record ReduceStock(string Sku, int Quantity, string OrderId) : IStockCommand;

[MessageName("inventory.restore-stock")]
public sealed record RestoreStock(string Sku, int Quantity, string OrderId) : IStockCommand;

public interface IStockEvent : IEvent
{
    /// <summary>Units on hand after the change.</summary>
    int OnHand { get; }
}

[MessageName("inventory.stock-added")]
public sealed record StockAdded(string Sku, int Quantity, int OnHand) : IStockEvent;

[MessageName("inventory.stock-reduced")]
public sealed record StockReduced(string Sku, int Quantity, string OrderId, int OnHand) : IStockEvent;

[MessageName("inventory.stock-restored")]
public sealed record StockRestored(string Sku, int Quantity, string OrderId, int OnHand) : IStockEvent;

/// <summary>What a SKU has on hand.</summary>
public sealed record StockOnHand(int Units);

/// <summary>Adds, reduces and restores the stock of one SKU; only adding creates it.</summary>
public sealed class StockAggregate : Aggregate<StockOnHand, IStockCommand, IStockEvent>
{
    public override string Name => "inventory";

    public override StockOnHand InitialState { get; } = new(0);

    public override CommandExpectation Expect(IStockCommand command) => command is AddStock ? CommandExpectation.Any : CommandExpectation.MustExist;

    public override string? Validate(IStockCommand command) => Quantity(command) > 0 ? null : "quantity must be positive";

    public override Decision<IStockEvent> Decide(StockOnHand state, IStockCommand command)
    {
        var units = state.Units;
        IStockEvent? change = command switch
        {
            AddStock add => new StockAdded(add.Sku, add.Quantity, units + add.Quantity),
            ReduceStock take when take.Quantity <= units => new StockReduced(take.Sku, take.Quantity, take.OrderId, units - take.Quantity),
            RestoreStock back => new StockRestored(back.Sku, back.Quantity, back.OrderId, units + back.Quantity),
            _ => null,
        };
        return change is null
            ? Decision<IStockEvent>.Reject($"only {units} of {command.Sku} on hand, {Quantity(command)} requested")
            : Decision<IStockEvent>.Accept(change);
    }

    public override StockOnHand Apply(StockOnHand state, IStockEvent @event) => new(@event.OnHand);

    private static int Quantity(IStockCommand command) => command switch
    {
        AddStock add => add.Quantity,
        ReduceStock take => take.Quantity,
        RestoreStock back => back.Quantity,
        _ => 0,
    };
}
