using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Orders;

/// <summary>Marker of every command the Order aggregate handles.</summary>
public interface IOrderCommand : ICommand
{
    /// <summary>The order number.</summary>
    string OrderId { get; }

    string ICommand.AggregateId => OrderId;
}

/// <summary>Place a new order for one SKU.</summary>
/// <param name="OrderId">New order number.</param>
/// <param name="CustomerId">Who orders.</param>
/// <param name="Sku">What is ordered.</param>
/// <param name="Quantity">How many (positive).</param>
/// <param name="UnitPrice">Price per unit (not negative).</param>
/// <param name="Currency">Currency of the price (ISO 4217; absent in commands of clients that predate it: euros).</param>
[MessageName("order.place")]
public sealed record PlaceOrder(string OrderId, string CustomerId, string Sku, int Quantity, decimal UnitPrice, string Currency = Money.DefaultCurrency) : IOrderCommand;

/// <summary>Ship a placed order.</summary>
/// <param name="OrderId">Order number.</param>
[MessageName("order.ship")]
public sealed record ShipOrder(string OrderId) : IOrderCommand;

/// <summary>Cancel an order that has not shipped.</summary>
/// <param name="OrderId">Order number.</param>
/// <param name="Reason">Why.</param>
[MessageName("order.cancel")]
public sealed record CancelOrder(string OrderId, string Reason) : IOrderCommand;

/// <summary>Process a placed order: one command that emits four events (processed, inventory update, audit log, email notification).</summary>
/// <param name="OrderId">Order number.</param>
[MessageName("order.process")]
public sealed record ProcessOrder(string OrderId) : IOrderCommand;

/// <summary>Records the shipping service's notice of a shipped order (sent back by its subscriber).</summary>
/// <param name="OrderId">Order.</param>
/// <param name="NoticeId">The notice's id at the shipping service.</param>
/// <param name="Carrier">The carrier.</param>
[MessageName("order.record-shipping-notice")]
public sealed record RecordShippingNotice(string OrderId, string NoticeId, string Carrier) : IOrderCommand;
