using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Inventory;

/// <summary>Marker of every command the Inventory aggregate handles (one aggregate per SKU).</summary>
public interface IInventoryCommand : ICommand
{
    /// <summary>The SKU.</summary>
    string Sku { get; }

    string ICommand.AggregateId => Sku;
}

/// <summary>Add stock; creates the inventory item if it is new.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units added (positive).</param>
[MessageName("inventory.add-stock")]
public sealed record AddStock(string Sku, int Quantity) : IInventoryCommand;

/// <summary>Take stock out for an order.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units taken (positive).</param>
/// <param name="OrderId">The order the stock is for.</param>
[MessageName("inventory.reduce-stock")]
public sealed record ReduceStock(string Sku, int Quantity, string OrderId) : IInventoryCommand;

/// <summary>Put stock back (e.g. a cancelled order).</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units returned (positive).</param>
/// <param name="OrderId">The order the stock came from.</param>
[MessageName("inventory.restore-stock")]
public sealed record RestoreStock(string Sku, int Quantity, string OrderId) : IInventoryCommand;
