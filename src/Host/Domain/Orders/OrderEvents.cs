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
/// <param name="CustomerId">Customer (absent in events written before it was added; readers must cope with null).</param>
[MessageName("order.shipped")]
public sealed record OrderShipped(string OrderId, string Sku, int Quantity, string? CustomerId = null) : IOrderEvent;

/// <summary>An order was cancelled.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Reason">Why.</param>
[MessageName("order.cancelled")]
public sealed record OrderCancelled(string OrderId, string Reason) : IOrderEvent;

/// <summary>An order was processed.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Total">Order total.</param>
[MessageName("order.processed")]
public sealed record OrderProcessed(string OrderId, decimal Total) : IOrderEvent;

/// <summary>Processing an order asks for its stock to be updated.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Quantity to reserve.</param>
[MessageName("order.inventory-update-requested")]
public sealed record InventoryUpdateRequested(string OrderId, string Sku, int Quantity) : IOrderEvent;

/// <summary>Processing an order leaves an audit record.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Entry">What happened.</param>
[MessageName("order.audit-log-recorded")]
public sealed record AuditLogRecorded(string OrderId, string Entry) : IOrderEvent;

/// <summary>Processing an order queues an e-mail to the customer.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="CustomerId">Recipient.</param>
/// <param name="Subject">Subject line.</param>
[MessageName("order.email-notification-queued")]
public sealed record EmailNotificationQueued(string OrderId, string CustomerId, string Subject) : IOrderEvent;
