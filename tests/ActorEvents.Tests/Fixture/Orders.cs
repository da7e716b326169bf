using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Fixture;

// The framework tests' orders: placed (creating the stream), then shipped or cancelled once. An amount with its
// currency exercises a nested record on the wire; the state is a record with an enum, for snapshot tests.

public interface IOrderCommand : ICommand
{
    string OrderId { get; }

    string ICommand.AggregateId => OrderId;
}

[MessageName("order.place")]
public sealed record PlaceOrder(string OrderId, string CustomerId, string Sku, int Quantity, decimal UnitPrice, string Currency = "EUR") : IOrderCommand;

[MessageName("order.ship")]
public sealed record ShipOrder(string OrderId) : IOrderCommand;

[MessageName("order.cancel")]
public sealed record CancelOrder(string OrderId, string Reason) : IOrderCommand;

public interface IOrderEvent : IEvent;

/// <summary>An amount in a currency.</summary>
public sealed record Money(decimal Amount, string Currency);

[MessageName("order.placed")]
public sealed record OrderPlaced(string OrderId, string CustomerId, string Sku, int Quantity, Money UnitPrice) : IOrderEvent;

[MessageName("order.shipped")]
public sealed record OrderShipped(string OrderId, string Sku, int Quantity, string? CustomerId = null) : IOrderEvent;

[MessageName("order.cancelled")]
public sealed record OrderCancelled(string OrderId, string Reason) : IOrderEvent;

public enum OrderStatus
{
    None,
    Placed,
    Shipped,
    Cancelled,
}

/// <summary>An order's state.</summary>
public sealed record OrderState(OrderStatus Status, string CustomerId, string Sku, int Quantity, Money UnitPrice);

/// <summary>Places an order, then ships or cancels it.</summary>
public sealed class OrderAggregate : Aggregate<OrderState, IOrderCommand, IOrderEvent>
{
    public override string Name => "order";

    public override OrderState InitialState { get; } = new(OrderStatus.None, "", "", 0, new Money(0m, "EUR"));

    public override CommandExpectation Expect(IOrderCommand command) =>
        command is PlaceOrder ? CommandExpectation.MustNotExist : CommandExpectation.MustExist;

    public override string? Validate(IOrderCommand command) =>
        command switch
        {
            PlaceOrder { Quantity: <= 0 } => "quantity must be positive",
            PlaceOrder { UnitPrice: < 0 } => "unit price must not be negative",
            _ => null,
        };

    public override Decision<IOrderEvent> Decide(OrderState state, IOrderCommand command)
    {
        if (command is PlaceOrder place)
        {
            return Decision<IOrderEvent>.Accept(new OrderPlaced(place.OrderId, place.CustomerId, place.Sku, place.Quantity, new Money(place.UnitPrice, place.Currency)));
        }

        if (state.Status != OrderStatus.Placed)
        {
            return Decision<IOrderEvent>.Reject($"the order is {state.Status.ToString().ToLowerInvariant()}");
        }

        return command is ShipOrder
            ? Decision<IOrderEvent>.Accept(new OrderShipped(command.OrderId, state.Sku, state.Quantity, state.CustomerId))
            : Decision<IOrderEvent>.Accept(new OrderCancelled(command.OrderId, ((CancelOrder)command).Reason));
    }

    public override OrderState Apply(OrderState state, IOrderEvent @event) => @event switch
    {
        OrderPlaced placed => new OrderState(OrderStatus.Placed, placed.CustomerId, placed.Sku, placed.Quantity, placed.UnitPrice),
        OrderShipped => state with { Status = OrderStatus.Shipped },
        _ => state with { Status = OrderStatus.Cancelled },
    };
}
