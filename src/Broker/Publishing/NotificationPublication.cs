using ActorEvents.Messages;

namespace ActorEvents.Broker.Publishing;

/// <summary>How one domain event becomes a published notification: its public contract, name, version and routing.</summary>
/// <param name="EventType">The domain event's CLR type (its subtypes are published too).</param>
/// <param name="Contract">The contract's stable name: the message's AMQP type and, by default, its routing key (e.g. <c>order.shipped</c>).</param>
/// <param name="Version">The contract's version (header <c>ae-version</c>).</param>
/// <param name="RoutingKey">The routing key (default: <paramref name="Contract"/>).</param>
/// <param name="Map">Makes the contract from the event and its envelope; null: this event is not published.</param>
internal sealed record NotificationPublication(Type EventType, string Contract, int Version, string RoutingKey, Func<IEvent, EventEnvelope, object?> Map);

/// <summary>The notifications of a domain, and the subscribers of its node (registered through <see cref="BrokerDomainExtensions.UseBroker"/>).</summary>
internal sealed class BrokerRegistrations
{
    /// <summary>Publications, in registration order.</summary>
    public List<NotificationPublication> Publications { get; } = [];

    /// <summary>Subscribers, in registration order.</summary>
    public List<Subscribing.SubscriberRegistration> Subscribers { get; } = [];

    /// <summary>Whether <see cref="BrokerMessage"/> is in the domain's type map already.</summary>
    public bool TypesRegistered { get; set; }

    /// <summary>The publisher subscription's name.</summary>
    public string PublisherName { get; set; } = BrokerBuilder.DefaultPublisherName;

    /// <summary>The publisher subscription's options, once it is registered (a later <c>UseBroker</c> may widen its tag).</summary>
    public Actors.Subscriptions.SubscriptionOptions? PublisherOptions { get; set; }

    /// <summary>The tag the publications chose for the publisher (null: every event); a tag other than this was set by <see cref="BrokerBuilder.Publisher"/>.</summary>
    public string? PublisherSourceTag { get; set; }

    /// <summary>The publications of an event (first match), or null when it is not published.</summary>
    public NotificationPublication? PublicationOf(IEvent @event) => Publications.FirstOrDefault(p => p.EventType.IsInstanceOfType(@event));
}
