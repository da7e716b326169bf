using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Orders;

/// <summary>Marker of every event of the Order aggregate.</summary>
public interface IOrderEvent : IEvent;

/// <summary>An order was placed.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="CustomerId">Customer.</param>
/// <param name="Sku">Ordered SKU.</param>
/// <param name="Quantity">Quantity.</param>
/// <param name="UnitPrice">Price per unit.</param>
[MessageName("order.placed")]
public sealed record OrderPlaced(string OrderId, string CustomerId, string Sku, int Quantity, decimal UnitPrice) : IOrderEvent;

/// <summary>An order was shipped.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Sku">Shipped SKU.</param>
/// <param name="Quantity">Shipped quantity.</param>
[MessageName("order.shipped")]
public sealed record OrderShipped(string OrderId, string Sku, int Quantity) : IOrderEvent;

/// <summary>An order was cancelled.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Reason">Why.</param>
[MessageName("order.cancelled")]
public sealed record OrderCancelled(string OrderId, string Reason) : IOrderEvent;
