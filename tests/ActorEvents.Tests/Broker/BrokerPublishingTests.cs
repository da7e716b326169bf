using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Broker;
using ActorEvents.Messages;
using ActorEvents.Tests.Subscriptions;
using RabbitMQ.Client;

namespace ActorEvents.Tests.Broker;

/// <summary>The publisher subscription sends the journal's notification events to the broker: one message per event, with its ids and contract.</summary>
[Collection(BrokerFaultGroup.Name)]
public sealed class BrokerPublishingTests
{
    private const string Publisher = BrokerBuilder.DefaultPublisherName;

    [RabbitMqFact]
    public async Task Should_publish_each_notification_event_with_its_ids_and_contract()
    {
        await using var scenario = new BrokerScenario("publish");
        var observer = await scenario.ObserverQueueAsync();
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker));

        var accepted = await host.AcceptAsync(new DispatchParcels("p-1", 3, Weight: 7), new CommandMetadata("cmd-dispatch-1", "corr-1", ReplyMode: ReplyMode.AfterPersist));
        await host.AcceptAsync(new DispatchParcels("p-2", 2), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));

        var journal = await BrokerScenario.DispatchedAsync(host, ["p-1", "p-2"]);
        Assert.Equal(5, journal.Count);
        var received = await BrokerQueues.CollectAsync(observer, journal.Count);
        Assert.Equal(journal.Select(e => e.EventId).Order(), received.Select(m => m.MessageId!).Order());

        foreach (var envelope in accepted.Events)
        {
            var message = Assert.Single(received, m => m.MessageId == envelope.EventId);
            var properties = message.Properties;
            Assert.Equal("parcel.dispatched", properties.Type);
            Assert.Equal("parcel.dispatched", message.RoutingKey);
            Assert.Equal(BrokerScenario.Source, properties.AppId);
            Assert.Equal("corr-1", properties.CorrelationId);
            Assert.Equal(envelope.CorrelationId, properties.CorrelationId);
            Assert.Equal(DeliveryModes.Persistent, properties.DeliveryMode);
            Assert.Equal("application/json", properties.ContentType);
            Assert.Equal("1", message.Header("ae-version"));
            Assert.Equal("cmd-dispatch-1", message.Header("ae-causation-id"));
            Assert.Equal(envelope.OccurredAt.ToUnixTimeSeconds(), properties.Timestamp.UnixTime);

            // The contract's JSON, camelCase; not the event's shape (its Index is DispatchIndex in the contract).
            var dispatched = (ParcelDispatched)envelope.Event;
            using var json = JsonDocument.Parse(message.Body);
            Assert.Equal(["parcelId", "dispatchIndex", "weight", "dispatchedAt"], json.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal("p-1", json.RootElement.GetProperty("parcelId").GetString());
            Assert.Equal(dispatched.Index, json.RootElement.GetProperty("dispatchIndex").GetInt32());
            Assert.Equal(7, json.RootElement.GetProperty("weight").GetInt32());
        }

        // One message per event: nothing more arrives once the publisher is caught up.
        await scenario.WaitUntilPublishedAsync(host);
        Assert.Empty(await BrokerQueues.DrainAsync(observer));
        Assert.Equal(5, BrokerScenario.Counts(host).Published);
    }

    [RabbitMqFact]
    public async Task Should_route_by_contract_name_or_configured_routing_key()
    {
        await using var scenario = new BrokerScenario("route");
        await TestBroker.DeclareTopicExchangeAsync(scenario.Exchange);
        var dispatchedQueue = scenario.QueueName("dispatched");
        var weightsQueue = scenario.QueueName("weights");
        await TestBroker.DeclareQueueAsync(dispatchedQueue, scenario.Exchange, "parcel.dispatched");
        await TestBroker.DeclareQueueAsync(weightsQueue, scenario.Exchange, "weights.#");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .Publish<ParcelWeighed, ParcelWeighedNotice>("parcel.weighed", 2, (e, _) => new ParcelWeighedNotice(e.ParcelId, e.Grams / 1000m), routingKey: "weights.parcel.v2"));

        await host.AcceptAsync(new DispatchParcels("p-1", 2), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var weighed = await host.AcceptAsync(new WeighParcel("p-1", 1500), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        await scenario.WaitUntilPublishedAsync(host);

        var dispatched = await BrokerQueues.DrainAsync(dispatchedQueue);
        Assert.Equal(2, dispatched.Count);
        Assert.All(dispatched, m => Assert.Equal(("parcel.dispatched", "parcel.dispatched"), (m.RoutingKey, m.Properties.Type)));
        var weight = Assert.Single(await BrokerQueues.DrainAsync(weightsQueue));
        Assert.Equal(("weights.parcel.v2", "parcel.weighed", "2"), (weight.RoutingKey, weight.Properties.Type, weight.Header("ae-version")));
        Assert.Equal(weighed.Events.Single().EventId, weight.MessageId);
        using var json = JsonDocument.Parse(weight.Body);
        Assert.Equal(1.5m, json.RootElement.GetProperty("kilograms").GetDecimal());
    }

    [RabbitMqFact]
    public async Task Should_not_publish_events_without_a_publication()
    {
        await using var scenario = new BrokerScenario("unpublished");
        var observer = await scenario.ObserverQueueAsync();
        // Two publications: the publisher reads every event, so ParcelNoted reaches it and must be passed over.
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .Publish<ParcelWeighed, ParcelWeighedNotice>("parcel.weighed", 1, (e, _) => new ParcelWeighedNotice(e.ParcelId, e.Grams / 1000m)));

        await host.AcceptAsync(new NoteParcel("p-1", "fragile"), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        await host.AcceptAsync(new DispatchParcels("p-1", 2, Weight: 0), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist)); // the map says null
        var published = await host.AcceptAsync(new DispatchParcels("p-1", 1, Weight: 3), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        await host.AcceptAsync(new NoteParcel("p-1", "handle with care"), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));

        var status = await scenario.WaitUntilPublishedAsync(host);
        Assert.Equal(5, (await host.ReadStreamAsync(ParcelAggregate.TypeName, "p-1")).Count);
        Assert.True(status.Head >= 5, status.ToString());
        var message = Assert.Single(await BrokerQueues.DrainAsync(observer));
        Assert.Equal(published.Events.Single().EventId, message.MessageId);
        Assert.Equal(1, BrokerScenario.Counts(host).Published);
    }

    [RabbitMqFact]
    public async Task Should_publish_the_subtypes_of_a_published_event()
    {
        await using var scenario = new BrokerScenario("subtypes");
        var observer = await scenario.ObserverQueueAsync();
        // One publication, of an event type that has a subtype with a name of its own: both are published.
        var host = await scenario.StartAsync(broker => broker.Publish<ParcelReturned, ParcelReturnedNotice>("parcel.returned", 1,
            (e, _) => new ParcelReturnedNotice(e.ParcelId, (e as ParcelReturnedDamaged)?.Damage)));

        var returned = await host.AcceptAsync(new ReturnParcel("p-1"), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var damaged = await host.AcceptAsync(new ReturnParcel("p-2", "crushed"), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        Assert.IsType<ParcelReturnedDamaged>(damaged.Events.Single().Event);
        await scenario.WaitUntilPublishedAsync(host);

        var received = await BrokerQueues.CollectAsync(observer, 2, TimeSpan.FromSeconds(5));
        Assert.Equal(new[] { returned.Events.Single().EventId, damaged.Events.Single().EventId }.Order(), received.Select(m => m.MessageId!).Order());
        var notice = Assert.Single(received, m => m.MessageId == damaged.Events.Single().EventId);
        Assert.Equal(("parcel.returned", "crushed"), (notice.Properties.Type, JsonDocument.Parse(notice.Body).RootElement.GetProperty("damage").GetString()));
    }

    [RabbitMqFact]
    public async Task Should_publish_the_notifications_of_every_use_broker_call()
    {
        await using var scenario = new BrokerScenario("modules");
        var observer = await scenario.ObserverQueueAsync();
        // Two parts of the domain declare their notifications apart: one publisher sends both.
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker), domain: domain => domain.UseBroker(broker =>
            broker.Publish<ParcelWeighed, ParcelWeighedNotice>("parcel.weighed", 1, (e, _) => new ParcelWeighedNotice(e.ParcelId, e.Grams / 1000m))));

        var dispatched = await host.AcceptAsync(new DispatchParcels("p-1", 1), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var weighed = await host.AcceptAsync(new WeighParcel("p-1", 800), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var status = await scenario.WaitUntilPublishedAsync(host);

        Assert.Equal("all events", status.Source);
        var received = await BrokerQueues.CollectAsync(observer, 2, TimeSpan.FromSeconds(5));
        Assert.Equal(new[] { ("parcel.dispatched", dispatched.Events.Single().EventId), ("parcel.weighed", weighed.Events.Single().EventId) },
            received.Select(m => (m.Properties.Type!, m.MessageId!)).OrderBy(m => m.Item1));
    }

    [Fact]
    public void Should_refuse_a_contract_that_is_a_domain_event()
    {
        var sameType = Assert.Throws<InvalidOperationException>(() => new ActorEventsDomainBuilder().UseBroker(broker =>
            broker.Publish<ParcelDispatched, ParcelDispatched>("parcel.dispatched", 1, (e, _) => e)));
        Assert.Contains("contract type of its own", sameType.Message, StringComparison.Ordinal);

        var otherEvent = Assert.Throws<InvalidOperationException>(() => new ActorEventsDomainBuilder().UseBroker(broker =>
            broker.Publish<ParcelDispatched, ParcelWeighed>("parcel.dispatched", 1, (e, _) => new ParcelWeighed(e.ParcelId, e.Weight))));
        Assert.Contains("ParcelWeighed", otherEvent.Message, StringComparison.Ordinal);

        Assert.Throws<InvalidOperationException>(() => new ActorEventsDomainBuilder().UseBroker(broker =>
            broker.Publish<ParcelDispatched, ParcelDispatchedNotice>("parcel.dispatched", 0, (_, _) => null)));
    }

    [RabbitMqFact]
    public async Task Should_show_the_publisher_in_subscription_status_with_its_lag()
    {
        await using var scenario = new BrokerScenario("status");
        var observer = await scenario.ObserverQueueAsync();
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker));
        await host.AcceptAsync(new DispatchParcels("p-1", 1), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var first = await scenario.WaitUntilPublishedAsync(host);
        Assert.Equal((SubscriptionKind.Publisher, "event:parcel.dispatched"), (first.Kind, first.Source));

        // Paused, it falls behind by what is written meanwhile; resumed, the lag drops to 0 and everything is sent.
        await host.Subscriptions().PauseAsync(Publisher);
        for (var i = 0; i < 6; i++)
        {
            await host.AcceptAsync(new DispatchParcels("p-1", 5), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        }

        await BrokerQueues.WaitUntilAsync(async () => (await host.StatusAsync(Publisher)).LagEvents == 30, "the paused publisher lags 30 events");
        var behind = await host.StatusAsync(Publisher);
        Assert.Equal(SubscriptionState.Paused, behind.State);
        Assert.Equal(1, BrokerScenario.Counts(host).Published);

        await host.Subscriptions().ResumeAsync(Publisher);
        var caughtUp = await scenario.WaitUntilPublishedAsync(host);
        Assert.Equal((0L, caughtUp.Head), (caughtUp.LagEvents, caughtUp.Position));
        Assert.Equal(31, BrokerScenario.Counts(host).Published);
        var received = await BrokerQueues.CollectAsync(observer, 31);
        Assert.Equal(31, received.Select(m => m.MessageId).Distinct().Count());
        await BrokerQueues.WaitUntilAsync(() => scenario.StoredCheckpoint(Publisher) == caughtUp.Position, "the publisher stores its checkpoint");
    }
}
