using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.Users;
using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Notifications;

/// <summary>
/// Part of Inventory, listening to the Order stream: a shipped order reduces the stock of its SKU
/// (100 → 90 for a quantity of 10) by sending <see cref="ReduceStock"/> with the event as causation.
/// Delivered both in the request (the reply can report it) and durably from the journal (its own subscription,
/// <c>stock-on-shipment</c>), so a node that dies between the shipment's commit and the reduction does not skip it.
/// Both copies send the same command id (derived from the event and this handler's name): the inventory aggregate
/// answers the second as a duplicate, which is why the handler is naturally idempotent — within the aggregate's
/// de-duplication window (<c>Aggregates:DeduplicationWindow</c> / <c>DeduplicationRetention</c>); a durable copy later
/// than that (a subscription reset) would reduce again.
/// </summary>
[NaturallyIdempotent]
public sealed class StockOnShipmentHandler(IActorEventsClient client) : IHandle<OrderShipped>
{
    /// <inheritdoc />
    public async Task HandleAsync(OrderShipped @event, EventContext context)
    {
        var result = await client.SendAsync(new ReduceStock(@event.Sku, @event.Quantity, @event.OrderId), context.CommandMetadata(),
            context.CancellationToken).ConfigureAwait(false);
        if (result is CommandRejected rejected)
        {
            throw new InvalidOperationException($"Stock of {@event.Sku} was not reduced for {@event.OrderId}: {rejected.Code} {rejected.Message}");
        }
    }
}

/// <summary>Marks processed orders as ready for fulfilment.</summary>
public sealed class OrderFulfilmentHandler(AuditTrail audit) : IHandle<OrderProcessed>
{
    /// <inheritdoc />
    public Task HandleAsync(OrderProcessed @event, EventContext context)
    {
        audit.Record($"fulfilment: {@event.OrderId} ready, total {@event.Total}");
        return Task.CompletedTask;
    }
}

/// <summary>Reserves stock for a processed order (here: records the reservation).</summary>
public sealed class InventoryReservationHandler(AuditTrail audit) : IHandle<InventoryUpdateRequested>
{
    /// <inheritdoc />
    public Task HandleAsync(InventoryUpdateRequested @event, EventContext context)
    {
        audit.Record($"inventory: reserve {@event.Quantity} × {@event.Sku} for {@event.OrderId}");
        return Task.CompletedTask;
    }
}

/// <summary>One class, two event types: the audit log of order processing and of new users.</summary>
public sealed class AuditLogHandler(AuditTrail audit) : IHandle<AuditLogRecorded>, IHandle<UserCreated>
{
    /// <inheritdoc />
    public Task HandleAsync(AuditLogRecorded @event, EventContext context)
    {
        audit.Record($"audit: {@event.Entry}");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task HandleAsync(UserCreated @event, EventContext context)
    {
        audit.Record($"audit: user {@event.UserId} created");
        return Task.CompletedTask;
    }
}

/// <summary>Sends the customer e-mail queued by order processing.</summary>
public sealed class OrderEmailHandler(IEmailSender email) : IHandle<EmailNotificationQueued>
{
    /// <inheritdoc />
    public Task HandleAsync(EmailNotificationQueued @event, EventContext context) =>
        email.SendAsync(new SentEmail(@event.CustomerId, @event.Subject, context.Envelope.CorrelationId), context.CancellationToken);
}

/// <summary>Sends a welcome e-mail to every new user.</summary>
public sealed class WelcomeEmailHandler(IEmailSender email) : IHandle<UserCreated>
{
    /// <inheritdoc />
    public Task HandleAsync(UserCreated @event, EventContext context) =>
        email.SendAsync(new SentEmail(@event.Email, $"Welcome, {@event.Name}", context.Envelope.CorrelationId), context.CancellationToken);
}
