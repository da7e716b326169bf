using ActorEvents.Actors.Aggregates;

namespace ActorEvents.Host.Domain.Orders;

/// <summary>Lifecycle of an order.</summary>
public enum OrderStatus
{
    /// <summary>No order yet.</summary>
    None,

    /// <summary>Placed, not shipped.</summary>
    Placed,

    /// <summary>Processed, ready to ship.</summary>
    Processed,

    /// <summary>Shipped.</summary>
    Shipped,

    /// <summary>Cancelled.</summary>
    Cancelled,
}

/// <summary>Immutable state of one order.</summary>
/// <param name="Status">Where the order is in its lifecycle.</param>
/// <param name="CustomerId">Customer.</param>
/// <param name="Sku">Ordered SKU.</param>
/// <param name="Quantity">Ordered quantity.</param>
/// <param name="UnitPrice">Price per unit, with its currency (state version 2; version 1 held a bare amount).</param>
public sealed record OrderState(OrderStatus Status, string CustomerId, string Sku, int Quantity, Money UnitPrice)
{
    /// <summary>No order.</summary>
    public static OrderState Empty { get; } = new(OrderStatus.None, string.Empty, string.Empty, 0, new Money(0m, Money.DefaultCurrency));

    /// <summary>Order total, in <see cref="Money.Currency"/> of the unit price.</summary>
    public decimal Total => Quantity * UnitPrice.Amount;
}

/// <summary>The Order aggregate: place, ship, cancel.</summary>
public sealed class OrderAggregate : Aggregate<OrderState, IOrderCommand, IOrderEvent>
{
    /// <inheritdoc />
    public override string Name => "order";

    /// <inheritdoc />
    public override OrderState InitialState => OrderState.Empty;

    /// <summary>2 since the unit price carries its currency: snapshots of version 1 are rebuilt from the events.</summary>
    public override int StateVersion => 2;

    /// <inheritdoc />
    public override CommandExpectation Expect(IOrderCommand command) =>
        command is PlaceOrder ? CommandExpectation.MustNotExist : CommandExpectation.MustExist;

    /// <inheritdoc />
    public override string? Validate(IOrderCommand command) => command switch
    {
        PlaceOrder { Quantity: <= 0 } => "quantity must be positive",
        PlaceOrder { UnitPrice: < 0 } => "unit price must not be negative",
        PlaceOrder p when string.IsNullOrWhiteSpace(p.Sku) => "sku is required",
        PlaceOrder p when string.IsNullOrWhiteSpace(p.CustomerId) => "customer is required",
        PlaceOrder p when p.Currency is not { Length: 3 } => "currency must be a three-letter ISO 4217 code",
        _ => null,
    };

    /// <inheritdoc />
    public override Decision<IOrderEvent> Decide(OrderState state, IOrderCommand command) => command switch
    {
        PlaceOrder p => Decision<IOrderEvent>.Accept(new OrderPlaced(p.OrderId, p.CustomerId, p.Sku, p.Quantity, new Money(p.UnitPrice, p.Currency))),
        ProcessOrder p => state.Status switch
        {
            OrderStatus.Placed => Decision<IOrderEvent>.Accept(
                new OrderProcessed(p.OrderId, state.Total),
                new InventoryUpdateRequested(p.OrderId, state.Sku, state.Quantity),
                new AuditLogRecorded(p.OrderId, $"order {p.OrderId} processed for {state.CustomerId}"),
                new EmailNotificationQueued(p.OrderId, state.CustomerId, $"Your order {p.OrderId} is being prepared")),
            OrderStatus.Processed => Decision<IOrderEvent>.Reject("the order is already processed"),
            OrderStatus.Shipped => Decision<IOrderEvent>.Reject("a shipped order cannot be processed"),
            _ => Decision<IOrderEvent>.Reject("a cancelled order cannot be processed"),
        },
        ShipOrder s => state.Status switch
        {
            OrderStatus.Placed or OrderStatus.Processed => Decision<IOrderEvent>.Accept(new OrderShipped(s.OrderId, state.Sku, state.Quantity, state.CustomerId)),
            OrderStatus.Shipped => Decision<IOrderEvent>.Reject("the order has already shipped"),
            _ => Decision<IOrderEvent>.Reject("a cancelled order cannot ship"),
        },
        CancelOrder c => state.Status switch
        {
            OrderStatus.Placed or OrderStatus.Processed => Decision<IOrderEvent>.Accept(new OrderCancelled(c.OrderId, c.Reason)),
            OrderStatus.Shipped => Decision<IOrderEvent>.Reject("a shipped order cannot be cancelled"),
            _ => Decision<IOrderEvent>.Reject("the order is already cancelled"),
        },
        RecordShippingNotice n => state.Status == OrderStatus.Shipped
            ? Decision<IOrderEvent>.Accept(new ShippingNoticeRecorded(n.OrderId, n.NoticeId, n.Carrier))
            : Decision<IOrderEvent>.Reject("only a shipped order gets a shipping notice"),
        _ => Decision<IOrderEvent>.Reject($"unsupported command {command.GetType().Name}"),
    };

    /// <inheritdoc />
    public override OrderState Apply(OrderState state, IOrderEvent @event) => @event switch
    {
        OrderPlaced p => new OrderState(OrderStatus.Placed, p.CustomerId, p.Sku, p.Quantity, p.UnitPrice),
        OrderProcessed => state with { Status = OrderStatus.Processed },
        OrderShipped => state with { Status = OrderStatus.Shipped },
        OrderCancelled => state with { Status = OrderStatus.Cancelled },
        _ => state,
    };
}
