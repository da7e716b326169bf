using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Inventory;

/// <summary>Marker of every event of the Inventory aggregate.</summary>
public interface IInventoryEvent : IEvent;

/// <summary>Stock was added.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units added.</param>
/// <param name="OnHand">Units on hand afterwards.</param>
[MessageName("inventory.stock-added")]
public sealed record StockAdded(string Sku, int Quantity, int OnHand) : IInventoryEvent;

/// <summary>Stock was taken out for an order.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units taken.</param>
/// <param name="OrderId">Order.</param>
/// <param name="OnHand">Units on hand afterwards.</param>
[MessageName("inventory.stock-reduced")]
public sealed record StockReduced(string Sku, int Quantity, string OrderId, int OnHand) : IInventoryEvent;

/// <summary>Stock was put back.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units returned.</param>
/// <param name="OrderId">Order.</param>
/// <param name="OnHand">Units on hand afterwards.</param>
[MessageName("inventory.stock-restored")]
public sealed record StockRestored(string Sku, int Quantity, string OrderId, int OnHand) : IInventoryEvent;
