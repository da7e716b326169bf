using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Broker;
using ActorEvents.Broker.Subscribing;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Shipping;

/// <summary>
/// The public contract of the <c>order.shipped</c> notification (version 1): what other services may rely on. It is
/// not the internal <see cref="OrderShipped"/> event (that may change without breaking them).
/// </summary>
/// <param name="OrderId">The order.</param>
/// <param name="Sku">What shipped.</param>
/// <param name="Quantity">How many.</param>
/// <param name="ShippedAt">When the shipment was recorded.</param>
public sealed record OrderShippedNotice(string OrderId, string Sku, int Quantity, DateTimeOffset ShippedAt);

/// <summary>
/// The sample's shipping-notice service (in the same process for the demo; in production another service): it consumes
/// <c>order.shipped</c> notifications from queue <see cref="Queue"/> and sends <see cref="RecordShippingNotice"/> back.
/// A redelivered message is de-duplicated by its id; the command's id is derived from it too.
/// </summary>
public sealed class ShippingNoticeSubscriber(IActorEventsClient client) : ISubscriber<OrderShippedNotice>
{
    /// <summary>The queue it consumes unless <c>Sample:Shipping:Queue</c> names another.</summary>
    public const string Queue = "shipping-notices";

    /// <inheritdoc />
    public async Task<SubscriberResult> HandleAsync(OrderShippedNotice message, SubscriberContext context)
    {
        var result = await client.SendAsync(new RecordShippingNotice(message.OrderId, $"notice-{context.Message.MessageId}", "sample-carrier"),
            context.CommandMetadata(), context.CancellationToken).ConfigureAwait(false);
        return result switch
        {
            CommandAccepted => SubscriberResult.Ack, // a duplicate (redelivered message) is accepted with its first events
            CommandRejected { Code: RejectionCode.DomainRuleViolation or RejectionCode.AggregateNotFound } refused =>
                SubscriberResult.DeadLetter($"the order refused the notice: {refused.Code} {refused.Message}"),
            CommandRejected rejected => throw new InvalidOperationException(
                $"RecordShippingNotice for {message.OrderId} was not persisted ({rejected.Code}: {rejected.Message}); retrying"),
            _ => throw new InvalidOperationException($"Unexpected reply {result.GetType().Name}"),
        };
    }
}

/// <summary>The sample's broker wiring: it publishes <c>order.shipped</c> and consumes it with <see cref="ShippingNoticeSubscriber"/>.</summary>
public static class SampleBroker
{
    /// <summary>Declares the notification and the subscriber (on <paramref name="queue"/>, default <see cref="ShippingNoticeSubscriber.Queue"/>).</summary>
    public static ActorEventsDomainBuilder AddSampleBroker(this ActorEventsDomainBuilder domain, string queue = ShippingNoticeSubscriber.Queue) =>
        domain.UseBroker(broker => broker
            .Publish<OrderShipped, OrderShippedNotice>("order.shipped", 1, (shipped, envelope) => new OrderShippedNotice(shipped.OrderId, shipped.Sku, shipped.Quantity, envelope.OccurredAt))
            .AddSubscriber<ShippingNoticeSubscriber>(queue, s => s.Bindings.Add("order.shipped")));
}
