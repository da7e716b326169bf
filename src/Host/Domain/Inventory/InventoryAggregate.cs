using ActorEvents.Actors.Aggregates;

namespace ActorEvents.Host.Domain.Inventory;

/// <summary>Immutable state of one SKU's inventory.</summary>
/// <param name="OnHand">Units on hand.</param>
public sealed record InventoryState(int OnHand)
{
    /// <summary>A SKU with nothing recorded.</summary>
    public static InventoryState Empty { get; } = new(0);
}

/// <summary>The Inventory aggregate: add, reduce and restore stock of one SKU.</summary>
public sealed class InventoryAggregate : Aggregate<InventoryState, IInventoryCommand, IInventoryEvent>
{
    /// <inheritdoc />
    public override string Name => "inventory";

    /// <inheritdoc />
    public override InventoryState InitialState => InventoryState.Empty;

    /// <inheritdoc />
    public override CommandExpectation Expect(IInventoryCommand command) =>
        command is AddStock ? CommandExpectation.Any : CommandExpectation.MustExist;

    /// <inheritdoc />
    public override string? Validate(IInventoryCommand command) => command switch
    {
        AddStock { Quantity: <= 0 } or ReduceStock { Quantity: <= 0 } or RestoreStock { Quantity: <= 0 } => "quantity must be positive",
        _ => null,
    };

    /// <inheritdoc />
    public override Decision<IInventoryEvent> Decide(InventoryState state, IInventoryCommand command) => command switch
    {
        AddStock a => Decision<IInventoryEvent>.Accept(new StockAdded(a.Sku, a.Quantity, state.OnHand + a.Quantity)),
        ReduceStock r when r.Quantity > state.OnHand =>
            Decision<IInventoryEvent>.Reject($"only {state.OnHand} of {r.Sku} on hand, {r.Quantity} requested"),
        ReduceStock r => Decision<IInventoryEvent>.Accept(new StockReduced(r.Sku, r.Quantity, r.OrderId, state.OnHand - r.Quantity)),
        RestoreStock r => Decision<IInventoryEvent>.Accept(new StockRestored(r.Sku, r.Quantity, r.OrderId, state.OnHand + r.Quantity)),
        _ => Decision<IInventoryEvent>.Reject($"unsupported command {command.GetType().Name}"),
    };

    /// <inheritdoc />
    public override InventoryState Apply(InventoryState state, IInventoryEvent @event) => @event switch
    {
        StockAdded a => new InventoryState(a.OnHand),
        StockReduced r => new InventoryState(r.OnHand),
        StockRestored r => new InventoryState(r.OnHand),
        _ => state,
    };
}
