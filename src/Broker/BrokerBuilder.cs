using System.Reflection;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Broker.Publishing;
using ActorEvents.Broker.Subscribing;
using ActorEvents.Messages;

namespace ActorEvents.Broker;

/// <summary>Declares a domain's notification events (what it publishes) and its node's subscribers (what it consumes).</summary>
public sealed class BrokerBuilder
{
    /// <summary>The publisher subscription's default name.</summary>
    public const string DefaultPublisherName = "broker-publisher";

    private readonly BrokerRegistrations _registrations;

    internal BrokerBuilder(BrokerRegistrations registrations) => _registrations = registrations;

    internal Action<SubscriptionOptions>? ConfigurePublisher { get; private set; }

    /// <summary>
    /// Publishes every persisted <typeparamref name="TEvent"/> (and subtypes) as the notification <paramref name="contract"/>:
    /// <paramref name="map"/> makes the public contract from the internal event (return null to publish nothing for
    /// that event). The message id is the event's id, so a consumer de-duplicates re-sent messages by it.
    /// </summary>
    /// <param name="contract">The contract's stable name: the AMQP type and the default routing key (e.g. <c>order.shipped</c>).</param>
    /// <param name="version">The contract's version, in header <c>ae-version</c>.</param>
    /// <param name="map">Event and its envelope → contract (must not be the event itself: the public contract is its own type).</param>
    /// <param name="routingKey">The routing key (default: <paramref name="contract"/>).</param>
    public BrokerBuilder Publish<TEvent, TContract>(string contract, int version, Func<TEvent, EventEnvelope, TContract?> map, string? routingKey = null)
        where TEvent : IEvent where TContract : class
    {
        if (typeof(TContract) == typeof(TEvent) || typeof(IEvent).IsAssignableFrom(typeof(TContract)))
        {
            throw new InvalidOperationException($"Notification '{contract}' must have a contract type of its own, not a domain event ('{typeof(TContract).Name}').");
        }

        if (string.IsNullOrWhiteSpace(contract) || version < 1)
        {
            throw new InvalidOperationException($"A notification needs a contract name and a version ≥ 1 (got '{contract}', {version}).");
        }

        if (_registrations.Publications.FirstOrDefault(p => p.EventType == typeof(TEvent) || p.Contract == contract) is { } twin)
        {
            throw new InvalidOperationException($"'{typeof(TEvent).Name}' or contract '{contract}' is already published (as '{twin.Contract}' of '{twin.EventType.Name}').");
        }

        _registrations.Publications.Add(new NotificationPublication(typeof(TEvent), contract, version, routingKey ?? contract,
            (e, envelope) => map((TEvent)e, envelope)));
        return this;
    }

    /// <summary>Tunes the publisher subscription (its name, profile, batch size, tag). Default: every event, batches of up to 500.</summary>
    public BrokerBuilder Publisher(Action<SubscriptionOptions> configure, string name = DefaultPublisherName)
    {
        ConfigurePublisher = configure;
        _registrations.PublisherName = name;
        return this;
    }

    /// <summary>Consumes <paramref name="queue"/> with <typeparamref name="TSubscriber"/> (an <see cref="ISubscriber{TMessage}"/>).</summary>
    public BrokerBuilder AddSubscriber<TSubscriber>(string queue, Action<SubscriberOptions>? configure = null) where TSubscriber : class
    {
        var options = new SubscriberOptions();
        configure?.Invoke(options);
        var registration = SubscriberRegistration.For<TSubscriber>(queue, options);
        if (_registrations.Subscribers.Any(s => s.Name == registration.Name))
        {
            throw new InvalidOperationException($"A subscriber named '{registration.Name}' is already registered.");
        }

        _registrations.Subscribers.Add(registration);
        return this;
    }
}

/// <summary>Brings the broker into a domain.</summary>
public static class BrokerDomainExtensions
{
    /// <summary>
    /// Declares notifications and subscribers. With at least one publication, a publisher subscription (kind
    /// <see cref="SubscriptionKind.Publisher"/>) reads the journal and sends them: the journal is the outbox. Call
    /// <see cref="BrokerHostingExtensions.AddActorEventsBroker"/> on the services too.
    /// </summary>
    public static ActorEventsDomainBuilder UseBroker(this ActorEventsDomainBuilder domain, Action<BrokerBuilder> configure)
    {
        var registrations = domain.Extension<BrokerRegistrations>();
        var hadPublisher = registrations.Publications.Count > 0;
        var builder = new BrokerBuilder(registrations);
        configure(builder);
        if (!registrations.TypesRegistered)
        {
            domain.AddMessageType<BrokerMessage>();
            registrations.TypesRegistered = true;
        }
        if (!hadPublisher && registrations.Publications.Count > 0)
        {
            var options = new SubscriptionOptions { BatchSize = 500, CheckpointEvery = 500, PollInterval = TimeSpan.Zero, Tag = SourceTagOf(registrations) };
            registrations.PublisherSourceTag = options.Tag;
            builder.ConfigurePublisher?.Invoke(options);
            registrations.PublisherOptions = options;
            domain.AddSinkSubscription(new SubscriptionRegistration(registrations.PublisherName, options, null)
            {
                Sink = (SubscriptionKind.Publisher, context => PublisherSink.Create(context, registrations)),
            });
        }
        else if (hadPublisher && registrations.PublisherOptions is { } options && options.Tag == registrations.PublisherSourceTag)
        {
            // A later call published more: the one publisher reads what they need too (unless Publisher(...) chose its tag).
            options.Tag = registrations.PublisherSourceTag = SourceTagOf(registrations);
        }

        return domain;
    }

    /// <summary>
    /// What the publisher reads: with one publication of a sealed event type, that event's tag only; else every event (a
    /// subtype of a published type carries the tag of its own name, and is published too).
    /// </summary>
    private static string? SourceTagOf(BrokerRegistrations registrations) =>
        registrations.Publications is [{ EventType.IsSealed: true } only] && only.EventType.GetCustomAttribute<MessageNameAttribute>() is { } name
            ? new SubscriptionOptions().ForEvent(name.Name).Tag
            : null;
}
