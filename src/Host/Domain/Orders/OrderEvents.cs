using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Orders;

/// <summary>Marker of every event of the Order aggregate.</summary>
public interface IOrderEvent : IEvent;

/// <summary>An amount of money in a currency.</summary>
/// <param name="Amount">The amount.</param>
/// <param name="Currency">ISO 4217 code, e.g. <c>EUR</c>.</param>
public sealed record Money(decimal Amount, string Currency)
{
    /// <summary>The currency of every price before <c>order.placed</c> v2 (the shop sold in euros only).</summary>
    public const string DefaultCurrency = "EUR";
}

/// <summary>An order was placed (v2: the unit price carries its currency).</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="CustomerId">Customer.</param>
/// <param name="Sku">Ordered SKU.</param>
/// <param name="Quantity">Quantity.</param>
/// <param name="UnitPrice">Price per unit, with its currency.</param>
[MessageName("order.placed", Version = 2)]
public sealed record OrderPlaced(string OrderId, string CustomerId, string Sku, int Quantity, Money UnitPrice) : IOrderEvent;

/// <summary>
/// <c>order.placed</c> v1, as the journal holds it from before v2: the unit price a bare number, in euros. Kept only to
/// read those rows (<see cref="Upcast"/>, registered in <see cref="SampleDomain"/>); never written.
/// </summary>
/// <param name="OrderId">Order number.</param>
/// <param name="CustomerId">Customer.</param>
/// <param name="Sku">Ordered SKU.</param>
/// <param name="Quantity">Quantity.</param>
/// <param name="UnitPrice">Price per unit, in euros.</param>
[MessageName("order.placed", Version = 1, Superseded = true)]
public sealed record OrderPlacedV1(string OrderId, string CustomerId, string Sku, int Quantity, decimal UnitPrice)
{
    /// <summary>The v2 shape of a v1 row: its price was in <see cref="Money.DefaultCurrency"/>.</summary>
    public static OrderPlaced Upcast(OrderPlacedV1 v1) =>
        new(v1.OrderId, v1.CustomerId, v1.Sku, v1.Quantity, new Money(v1.UnitPrice, Money.DefaultCurrency));
}

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

/// <summary>The shipping-notice service confirmed a shipment's notice (a command it sent back, from the <c>order.shipped</c> notification).</summary>
/// <param name="OrderId">Order.</param>
/// <param name="NoticeId">The notice's id at the shipping service.</param>
/// <param name="Carrier">The carrier the notice names.</param>
[MessageName("order.shipping-notice-recorded")]
public sealed record ShippingNoticeRecorded(string OrderId, string NoticeId, string Carrier) : IOrderEvent;
