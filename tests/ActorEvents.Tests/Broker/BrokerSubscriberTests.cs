using System.Text;
using System.Text.Json;
using ActorEvents.Actors.Supervision;
using ActorEvents.Broker.Subscribing;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Broker;

/// <summary>Subscribers consume their queues: raw or as a contract, once per message id, with requeue, reject and dead letters.</summary>
[Collection(BrokerFaultGroup.Name)]
public sealed class BrokerSubscriberTests
{
    private const string Notices = nameof(ParcelNoticeSubscriber);
    private const string Raw = nameof(RawParcelSubscriber);

    [RabbitMqFact]
    public async Task Should_deliver_raw_and_contract_messages_to_subscribers()
    {
        await using var scenario = new BrokerScenario("deliver");
        var noticeQueue = scenario.QueueName("notices");
        var rawQueue = scenario.QueueName("raw");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched"))
            .AddSubscriber<RawParcelSubscriber>(rawQueue, o => o.Bindings.Add("parcel.#")));

        await host.AcceptAsync(new DispatchParcels("p-1", 3, Weight: 4), new CommandMetadata(CorrelationId: "corr-deliver", ReplyMode: ReplyMode.AfterPersist));
        await host.AcceptAsync(new DispatchParcels("p-2", 2, Weight: 5), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var journal = await BrokerScenario.DispatchedAsync(host, ["p-1", "p-2"]);
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows == 5 && scenario.Effects(Raw).Rows == 5, "both subscribers applied 5 messages");

        var ids = journal.Select(e => e.EventId).Order().ToArray();
        var notices = scenario.Probe.Runs.Where(r => r.Subscriber == Notices).ToArray();
        Assert.Equal(ids, notices.Select(r => r.MessageId).Order());
        foreach (var envelope in journal)
        {
            var dispatched = (ParcelDispatched)envelope.Event;
            var notice = Assert.IsType<ParcelDispatchedNotice>(Assert.Single(notices, r => r.MessageId == envelope.EventId).Message);
            Assert.Equal((dispatched.ParcelId, dispatched.Index, dispatched.Weight), (notice.ParcelId, notice.DispatchIndex, notice.Weight));
        }

        var raw = scenario.Probe.Runs.Where(r => r.Subscriber == Raw).Select(r => Assert.IsType<BrokerMessage>(r.Message)).ToArray();
        Assert.Equal(ids, raw.Select(m => m.MessageId).Order());
        Assert.All(raw, m => Assert.Equal(("parcel.dispatched", 1, BrokerScenario.Source, rawQueue, scenario.Exchange, "parcel.dispatched"),
            (m.Type, m.Version, m.Source, m.Queue, m.Exchange, m.RoutingKey)));
        var first = Assert.Single(raw, m => m.MessageId == journal[0].EventId);
        Assert.Equal(("corr-deliver", journal[0].CausationId), (first.CorrelationId, first.CausationId));
        Assert.Equal(1, JsonDocument.Parse(first.Body).RootElement.GetProperty("dispatchIndex").GetInt32());

        // Counted from the database: one effect and one processed row per message, for each subscriber.
        Assert.Equal((5L, 5L), scenario.Effects(Notices));
        Assert.Equal((5L, 5L), scenario.Effects(Raw));
        Assert.Equal(5, scenario.ProcessedRows(Notices));
        Assert.Equal(5, scenario.ProcessedRows(Raw));
        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host).Consumed == 10, "10 messages acknowledged");
    }

    [RabbitMqFact]
    public async Task Should_start_the_other_subscribers_when_one_cannot_start()
    {
        await using var scenario = new BrokerScenario("one-broken");
        var missing = scenario.QueueName("missing");
        var queue = scenario.QueueName("raw");
        // The first subscriber's queue must exist and does not: it keeps failing to start, and must not hold up the second.
        var host = await ActorEventsTestHost.StartAsync(scenario.Build(broker => broker
            .AddSubscriber<ParcelNoticeSubscriber>(missing, o =>
            {
                o.DeclareQueue = false;
                o.Bindings.Add("parcel.dispatched");
            })
            .AddSubscriber<RawParcelSubscriber>(queue, o => o.Bindings.Add("inbound.#"))));
        try
        {
            await BrokerQueues.WaitForConsumerAsync(queue);
            await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-1", Encoding.UTF8.GetBytes("{}"));
            await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Raw).Rows == 1, "the second subscriber applied its message");
            Assert.Equal(1, scenario.ProcessedRows(Raw));
        }
        finally
        {
            await scenario.DisposeHostAsync(host);
        }
    }

    [RabbitMqFact]
    public async Task Should_consume_again_when_the_broker_cancels_its_consumer()
    {
        await using var scenario = new BrokerScenario("cancelled");
        var queue = scenario.QueueName("raw");
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<RawParcelSubscriber>(queue, o => o.Bindings.Add("inbound.#")));
        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-1", Encoding.UTF8.GetBytes("{}"));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Raw).Rows == 1, "the first message is applied");

        // An operator deletes the queue (a queue's node failing over does the same): the broker cancels the consumer.
        await TestBroker.DeleteQueueAsync(queue);
        await BrokerQueues.WaitForConsumerAsync(queue);
        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-2", Encoding.UTF8.GetBytes("{}"));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Raw).Rows == 2, "the message sent after the cancel is applied");
        Assert.Equal(2, scenario.ProcessedRows(Raw));
    }

    [RabbitMqFact]
    public async Task Should_acknowledge_a_redelivered_message_id_without_running_the_subscriber_again()
    {
        await using var scenario = new BrokerScenario("dedup");
        var queue = scenario.QueueName("raw");
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<RawParcelSubscriber>(queue, o => o.Bindings.Add("inbound.#")));

        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-1", Encoding.UTF8.GetBytes("{\"n\":1}"), "inbound.parcel");
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Raw).Rows == 1, "the first copy is applied");
        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-1", Encoding.UTF8.GetBytes("{\"n\":1}"), "inbound.parcel");
        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-2", Encoding.UTF8.GetBytes("{\"n\":2}"), "inbound.parcel");

        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host) is { Consumed: 2, Deduplicated: 1 }, "two applied, one de-duplicated");
        Assert.Equal(1, scenario.Probe.RunsOf(Raw, "msg-1"));
        Assert.Equal((2L, 2L), scenario.Effects(Raw));
        Assert.Equal(2, scenario.ProcessedRows(Raw));
        Assert.Equal(1, scenario.Database.Scalar("SELECT redeliveries FROM ae_processed_events WHERE handler = @h AND event_id = 'msg-1'", ("@h", Raw)));
        Assert.Equal(0u, await TestBroker.MessageCountAsync(queue));
    }

    [RabbitMqFact]
    public async Task Should_requeue_then_handle()
    {
        await using var scenario = new BrokerScenario("requeue");
        var queue = scenario.QueueName("raw");
        var requeued = 0;
        scenario.Probe.Intercept = context => Task.FromResult(context.Message.MessageId == "msg-late" && Interlocked.Increment(ref requeued) == 1
            ? SubscriberResult.Requeue(TimeSpan.FromMilliseconds(50))
            : null);
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<RawParcelSubscriber>(queue, o => o.Bindings.Add("inbound.#")));

        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-late", Encoding.UTF8.GetBytes("{}"));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Raw).Rows == 1, "the requeued message is applied");

        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host) is { Requeued: 1, Consumed: 1 }, "one requeue, then one ack");
        Assert.Equal(2, scenario.Probe.RunsOf(Raw, "msg-late"));
        Assert.Equal((1L, 1L), scenario.Effects(Raw));
        Assert.Equal(1, scenario.ProcessedRows(Raw));
        Assert.Equal(0, scenario.DeadLetterRows(Raw));
    }

    [RabbitMqFact]
    public async Task Should_reject_to_the_dead_letter_exchange()
    {
        await using var scenario = new BrokerScenario("reject");
        var queue = scenario.QueueName("raw");
        var dlx = scenario.ExchangeName("dlx");
        var parking = scenario.QueueName("parking");
        await TestBroker.DeclareTopicExchangeAsync(dlx);
        await TestBroker.DeclareQueueAsync(parking, dlx, "#");
        scenario.Probe.Intercept = context => Task.FromResult(context.Message.MessageId == "msg-refused" ? SubscriberResult.Reject("not for us") : null);
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<RawParcelSubscriber>(queue, o =>
        {
            o.Bindings.Add("inbound.#");
            o.DeadLetterExchange = dlx;
        }));

        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-refused", Encoding.UTF8.GetBytes("{\"refused\":true}"));
        await TestBroker.PublishRawAsync(scenario.Exchange, "inbound.parcel", "msg-fine", Encoding.UTF8.GetBytes("{}"));

        var parked = Assert.Single(await BrokerQueues.CollectAsync(parking, 1));
        Assert.Equal(("msg-refused", "inbound.parcel", "{\"refused\":true}"), (parked.MessageId, parked.RoutingKey, parked.Text));
        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host) is { Rejected: 1, Consumed: 1 }, "one rejected, one applied");
        Assert.Equal((1L, 1L), scenario.Effects(Raw));
        Assert.Equal(0, scenario.Database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE event_id = 'msg-refused'"));
        Assert.Equal(0, scenario.DeadLetterRows(Raw));
        Assert.Equal(0u, await TestBroker.MessageCountAsync(queue));
    }

    [RabbitMqFact]
    public async Task Should_dead_letter_a_poison_message_after_retries_and_keep_consuming_the_others()
    {
        await using var scenario = new BrokerScenario("poison");
        var queue = scenario.QueueName("notices");
        var failing = 1; // while 1, msg-flaky throws (not a permanent error: it is retried)
        scenario.Probe.Intercept = context => context.Message.MessageId == "msg-flaky" && Volatile.Read(ref failing) == 1
            ? throw new TimeoutException("the downstream service is away")
            : Task.FromResult<SubscriberResult?>(null);
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<ParcelNoticeSubscriber>(queue, o =>
        {
            o.Bindings.Add("parcel.dispatched");
            o.Retry = retry => retry.MaxRetries = 2;
        }));

        var good = JsonSerializer.SerializeToUtf8Bytes(new ParcelDispatchedNotice("p-1", 1, 2, DateTimeOffset.UtcNow), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-poison", Encoding.UTF8.GetBytes("this is not json"), "parcel.dispatched");
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-flaky", good, "parcel.dispatched");
        for (var i = 0; i < 5; i++)
        {
            await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", $"msg-good-{i}", good, "parcel.dispatched");
        }

        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host) is { Consumed: 5, DeadLettered: 2 }, "5 applied, 2 dead-lettered");
        Assert.Equal((5L, 5L), scenario.Effects(Notices));
        Assert.Equal(2, scenario.DeadLetterRows(Notices));
        Assert.Equal(0, scenario.Probe.RunsOf(Notices, "msg-poison")); // undecodable: permanent, the subscriber never ran
        Assert.Equal(3, scenario.Probe.RunsOf(Notices, "msg-flaky")); // first run and 2 retries
        Assert.Equal(2, BrokerScenario.Counts(host).Retries);

        var store = host.Host.Services.GetRequiredService<IDeadLetterStore>();
        var entries = await store.ListAsync(new DeadLetterFilter(Handler: Notices));
        var poison = Assert.Single(entries, e => e.Envelope.EventId == "msg-poison");
        var flaky = Assert.Single(entries, e => e.Envelope.EventId == "msg-flaky");
        Assert.Equal(("this is not json", 1), (Assert.IsType<BrokerMessage>(poison.Envelope.Event).Text, poison.Attempts));
        Assert.Equal(3, flaky.Attempts);

        var office = await host.Host.Services.GetRequiredService<IRequiredActor<DeadLetterOffice>>().GetAsync();
        // The poison message cannot be fixed by running it again: a replay fails and keeps it; a skip removes it.
        var replayedPoison = await office.Ask<DeadLetterReplayed>(new ReplayDeadLetter(poison.Id), TimeSpan.FromSeconds(10));
        Assert.False(replayedPoison.Succeeded);
        Assert.Equal(new DeadLetterSkipped(poison.Id, 0), await office.Ask<DeadLetterSkipped>(new SkipDeadLetter(poison.Id), TimeSpan.FromSeconds(10)));

        // The flaky one's service is back: its replay runs the subscriber once more, applies the effect and removes the entry.
        Volatile.Write(ref failing, 0);
        Assert.Equal(new DeadLetterReplayed(flaky.Id, true, 0, null), await office.Ask<DeadLetterReplayed>(new ReplayDeadLetter(flaky.Id), TimeSpan.FromSeconds(10)));
        Assert.Equal(0, scenario.DeadLetterRows(Notices));
        Assert.Equal((6L, 6L), scenario.Effects(Notices));
        Assert.Equal(1, scenario.Database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE handler = @h AND event_id = 'msg-flaky'", ("@h", Notices)));
        Assert.Equal(4, scenario.Probe.RunsOf(Notices, "msg-flaky"));

        // Replaying it again finds it handled: the entry is gone, nothing is applied twice.
        Assert.IsType<DeadLetterOperationFailed>(await office.Ask<object>(new ReplayDeadLetter(flaky.Id), TimeSpan.FromSeconds(10)));
        Assert.Equal((6L, 6L), scenario.Effects(Notices));
    }

    [RabbitMqFact]
    public async Task Should_let_a_subscriber_send_a_command_once_per_message()
    {
        await using var scenario = new BrokerScenario("acl");
        var queue = scenario.QueueName("confirmations");
        // Without its own de-duplication, so that a redelivered message runs it again: the aggregate recognises the command.
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<DeliveryConfirmingSubscriber>(queue, o =>
        {
            o.Bindings.Add("parcel.dispatched");
            o.Deduplicate = false;
        }));

        var body = JsonSerializer.SerializeToUtf8Bytes(new ParcelDispatchedNotice("p-acl", 1, 2, DateTimeOffset.UtcNow), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-acl-1", body, "parcel.dispatched");
        await BrokerQueues.WaitUntilAsync(() => scenario.Probe.Replies.Count == 1, "the first copy sent its command");
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-acl-1", body, "parcel.dispatched");
        await BrokerQueues.WaitUntilAsync(() => scenario.Probe.Replies.Count == 2, "the redelivered copy sent its command");

        var replies = scenario.Probe.Replies.Select(r => Assert.IsType<CommandAccepted>(r.Result)).ToArray();
        Assert.Equal([false, true], replies.Select(r => r.Duplicate));
        Assert.Equal($"msg-acl-1:{nameof(DeliveryConfirmingSubscriber)}", replies[0].CommandId);
        Assert.Equal(replies[0].CommandId, replies[1].CommandId);
        var stream = await host.ReadStreamAsync(ParcelAggregate.TypeName, "p-acl");
        var confirmed = Assert.Single(stream);
        Assert.IsType<DeliveryConfirmed>(confirmed.Event);
        Assert.Equal(("msg-acl-1", $"msg-acl-1:{nameof(DeliveryConfirmingSubscriber)}"), (confirmed.CorrelationId, confirmed.CausationId));
        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host).Consumed == 2, "both copies acknowledged");
    }
}
