using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using ActorEvents.Broker;
using ActorEvents.Messages;
using ActorEvents.Tests.Subscriptions;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Broker;

/// <summary>
/// The broker stops, drops its connections, or a consumer dies mid-message: nothing the journal holds is lost on the way
/// to the queues, and no message's effect is applied twice. They stop the broker for everyone: one at a time, holding
/// <see cref="TestBroker.ExclusiveAsync"/> while it is down.
/// </summary>
[Collection(BrokerFaultGroup.Name)]
public sealed class BrokerFaultTests(ITestOutputHelper output)
{
    private const string Publisher = BrokerBuilder.DefaultPublisherName;
    private const string Notices = nameof(ParcelNoticeSubscriber);

    [RabbitMqFact]
    public async Task Should_lose_nothing_when_the_broker_stops_for_10_s_during_publishing()
    {
        await using var scenario = new BrokerScenario("stop");
        var observer = await scenario.ObserverQueueAsync("parcel.dispatched");
        var noticeQueue = scenario.QueueName("notices");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched")));
        var load = new CommandLoad(host, parcels: 20);

        CheckpointWatch watch;
        int acceptedAtStop, acceptedWhileDown;
        await using (await TestBroker.ExclusiveAsync())
        {
            // A steady load runs while the publisher publishes; the broker stops once 100 commands are in, and stays down
            // for 10 s while the load goes on (the journal does not need the broker).
            using var stopLoad = new CancellationTokenSource();
            var steady = load.RunAsync(stopLoad.Token);
            await BrokerQueues.WaitUntilAsync(() => load.Accepted >= 100, "100 commands accepted");
            await TestBroker.StopAppAsync();
            var stoppedAt = DateTime.UtcNow;
            acceptedAtStop = load.Accepted;
            watch = await CheckpointWatch.StartAsync(scenario, host);
            await Task.Delay(stoppedAt + TimeSpan.FromSeconds(10) - DateTime.UtcNow);
            await stopLoad.CancelAsync();
            await steady;
            acceptedWhileDown = load.Accepted - acceptedAtStop;
            await watch.StopAsync();
            await TestBroker.StartAppAsync();
        }

        await load.SendAsync(100);
        var status = await scenario.WaitUntilPublishedAsync(host, TimeSpan.FromSeconds(90));
        var journal = await BrokerScenario.DispatchedAsync(host, load.Parcels);
        var received = await BrokerQueues.CollectAsync(observer, journal.Count, TimeSpan.FromSeconds(30));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Distinct >= journal.Count, "the subscriber applied every message", TimeSpan.FromSeconds(60));
        var effects = scenario.Effects(Notices);
        var counts = BrokerScenario.Counts(host);
        output.WriteLine($"commands {load.Accepted} (client retries {load.Retries}), journal {journal.Count}, confirmed {counts.Published}, " +
            $"received {received.Count} ({received.Select(m => m.MessageId).Distinct().Count()} distinct), effects {effects.Rows} ({effects.Distinct} distinct), " +
            $"processed rows {scenario.ProcessedRows(Notices)}, deduplicated {counts.Deduplicated}; accepted at the stop {acceptedAtStop}, while down {acceptedWhileDown}; " +
            $"at the stop: {watch}; after: position {status.Position}, lag {status.LagEvents}");

        Assert.True(acceptedWhileDown >= 100, $"{acceptedWhileDown} commands accepted while the broker was down");
        Assert.Equal(load.Accepted, journal.Count);
        Assert.Empty(journal.Select(e => e.EventId).Except(received.Select(m => m.MessageId!)));
        Assert.Equal(journal.Count, received.Select(m => m.MessageId).Distinct().Count());
        Assert.Equal((long)journal.Count, effects.Rows);
        Assert.Equal((long)journal.Count, effects.Distinct);
        Assert.Equal(journal.Count, scenario.ProcessedRows(Notices));
        Assert.True(counts.Published >= journal.Count, $"confirmed {counts.Published}");
        Assert.Equal(0, status.LagEvents);

        // While the broker was down nothing was confirmed, and neither the position nor the stored checkpoint passed
        // what the broker had confirmed before it stopped.
        Assert.True(watch.Samples > 5, watch.ToString());
        Assert.Equal(0, watch.ConfirmedWhileDown);
        Assert.True(watch.HighestPosition <= watch.ConfirmedBound && watch.HighestStored <= watch.ConfirmedBound, watch.ToString());
        Assert.True(status.Position > watch.ConfirmedBound, "publishing resumed after the broker came back");
    }

    [RabbitMqFact]
    public async Task Should_resend_unconfirmed_messages_after_a_dropped_connection_and_consumers_deduplicate()
    {
        await using var scenario = new BrokerScenario("drop");
        var observer = await scenario.ObserverQueueAsync("parcel.dispatched");
        var noticeQueue = scenario.QueueName("notices");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched")));
        var load = new CommandLoad(host, parcels: 20, eventsPerCommand: 2);

        await using (await TestBroker.ExclusiveAsync())
        {
            for (var round = 1; round <= 3; round++)
            {
                var sending = load.SendAsync(150);
                var threshold = (round - 1) * 150 + 60;
                await BrokerQueues.WaitUntilAsync(() => load.Accepted >= threshold, $"{threshold} commands accepted");
                await TestBroker.CloseAllConnectionsAsync($"broker fault test, round {round}");
                await sending;
            }
        }

        var status = await scenario.WaitUntilPublishedAsync(host, TimeSpan.FromSeconds(90));
        var journal = await BrokerScenario.DispatchedAsync(host, load.Parcels);
        var received = await BrokerQueues.CollectAsync(observer, journal.Count, TimeSpan.FromSeconds(30));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Distinct >= journal.Count, "the subscriber applied every message", TimeSpan.FromSeconds(60));
        await BrokerQueues.WaitUntilAsync(async () => await TestBroker.MessageCountAsync(noticeQueue) == 0, "the subscriber's queue is empty");
        var effects = scenario.Effects(Notices);
        var counts = BrokerScenario.Counts(host);
        output.WriteLine($"commands {load.Accepted}, journal {journal.Count}, confirmed {counts.Published}, received {received.Count} " +
            $"({received.Select(m => m.MessageId).Distinct().Count()} distinct), effects {effects.Rows} ({effects.Distinct} distinct), " +
            $"consumed {counts.Consumed}, deduplicated {counts.Deduplicated}, position {status.Position}");

        Assert.Equal(900, journal.Count);
        Assert.Equal(journal.Select(e => e.EventId).Order(), received.Select(m => m.MessageId!).Distinct().Order());
        Assert.Equal((long)journal.Count, effects.Rows); // a message delivered twice applied once
        Assert.Equal((long)journal.Count, effects.Distinct);
        Assert.Equal(journal.Count, scenario.ProcessedRows(Notices));
        Assert.True(counts.Published >= journal.Count, $"confirmed {counts.Published}");
    }

    [RabbitMqFact]
    public async Task Should_redeliver_a_message_whose_consumer_crashed_mid_message_and_apply_its_effect_once()
    {
        await using var scenario = new BrokerScenario("crash");
        var queue = scenario.QueueName("notices");
        using var gate = new SemaphoreSlim(0);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gatedRuns = 0;
        scenario.Probe.Intercept = async context =>
        {
            if (context.Message.MessageId == "msg-gated" && Interlocked.Increment(ref gatedRuns) == 1)
            {
                entered.SetResult();
                await gate.WaitAsync(); // not cancellable: the run goes on after its channel died
            }

            return null;
        };
        var host = await scenario.StartAsync(broker => broker.AddSubscriber<ParcelNoticeSubscriber>(queue, o => o.Bindings.Add("parcel.dispatched")));

        var body = JsonSerializer.SerializeToUtf8Bytes(new ParcelDispatchedNotice("p-1", 1, 1, DateTimeOffset.UtcNow), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-gated", body, "parcel.dispatched");
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-other", body, "parcel.dispatched");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await using (await TestBroker.ExclusiveAsync())
        {
            // Its channel dies while the subscriber runs: the effect commits, the ack cannot reach the broker.
            await TestBroker.CloseAllConnectionsAsync("consumer crash test");
            gate.Release();
        }

        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(host).Deduplicated >= 1, "the broker redelivered msg-gated and it was de-duplicated");
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows >= 2, "both messages applied");
        var counts = BrokerScenario.Counts(host);
        await scenario.DisposeHostAsync(host);
        output.WriteLine($"gated runs {gatedRuns}, counts {counts}, effects {scenario.Effects(Notices)}");
        Assert.Equal(1, scenario.Database.Scalar("SELECT COUNT(*) FROM test_broker_effects WHERE message_id = 'msg-gated'"));
        Assert.Equal((2L, 2L), scenario.Effects(Notices));
        Assert.Equal(2, scenario.ProcessedRows(Notices));
        Assert.Equal(1, scenario.Database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE event_id = 'msg-gated'"));
        Assert.Equal(0u, await TestBroker.MessageCountAsync(queue)); // nothing left unacknowledged
    }

    [RabbitMqFact]
    public async Task Should_finish_on_another_host_a_message_whose_host_stopped_mid_message_and_apply_its_effect_once()
    {
        await using var scenario = new BrokerScenario("handover");
        var queue = scenario.QueueName("notices");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gatedRuns = 0;
        scenario.Probe.Intercept = async context =>
        {
            if (context.Message.MessageId == "msg-gated" && Interlocked.Increment(ref gatedRuns) == 1)
            {
                entered.SetResult();
                await Task.Delay(Timeout.Infinite, context.CancellationToken); // ends when its host stops
            }

            return null;
        };
        void Subscribe(BrokerBuilder broker) => broker.AddSubscriber<ParcelNoticeSubscriber>(queue, o => o.Bindings.Add("parcel.dispatched"));
        var first = await scenario.StartAsync(Subscribe);

        var body = JsonSerializer.SerializeToUtf8Bytes(new ParcelDispatchedNotice("p-1", 1, 1, DateTimeOffset.UtcNow), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-gated", body, "parcel.dispatched");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await scenario.DisposeHostAsync(first);
        Assert.Equal(0, scenario.Effects(Notices).Rows);
        Assert.Equal(0, scenario.ProcessedRows(Notices));

        // A second host on the same database takes the message back from the queue and finishes it.
        var second = await scenario.StartAsync(Subscribe);
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows >= 1, "the second host applied msg-gated");
        await BrokerQueues.WaitUntilAsync(() => BrokerScenario.Counts(second).Consumed == 1, "the second host acknowledged it");
        await scenario.DisposeHostAsync(second);
        output.WriteLine($"gated runs {gatedRuns}, effects {scenario.Effects(Notices)}");
        Assert.Equal(2, gatedRuns);
        Assert.Equal((1L, 1L), scenario.Effects(Notices));
        Assert.Equal(1, scenario.ProcessedRows(Notices));
        Assert.Equal(0u, await TestBroker.MessageCountAsync(queue));
    }

    [RabbitMqFact]
    public async Task Should_start_while_the_broker_is_down_and_publish_and_consume_once_it_is_back()
    {
        await using var scenario = new BrokerScenario("late");
        var observer = await scenario.ObserverQueueAsync("parcel.dispatched");
        var noticeQueue = scenario.QueueName("notices");
        await TestBroker.DeclareQueueAsync(noticeQueue, scenario.Exchange, "parcel.dispatched");
        ActorEventsTestHost host;
        await using (await TestBroker.ExclusiveAsync())
        {
            await TestBroker.StopAppAsync();
            // The node starts and takes commands without the broker; its publisher and subscriber wait for it.
            host = await ActorEventsTestHost.StartAsync(scenario.Build(broker => BrokerScenario.PublishDispatched(broker)
                .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched"))));
            for (var i = 0; i < 20; i++)
            {
                await host.AcceptAsync(new DispatchParcels($"p-{i % 4}", 5), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
            }

            Assert.Equal(0, BrokerScenario.Counts(host).Published);
            await TestBroker.StartAppAsync();
        }

        try
        {
            var status = await scenario.WaitUntilPublishedAsync(host, TimeSpan.FromSeconds(60));
            var received = await BrokerQueues.CollectAsync(observer, 100, TimeSpan.FromSeconds(30));
            await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows >= 100, "the subscriber applied 100 messages", TimeSpan.FromSeconds(60));
            output.WriteLine($"position {status.Position}, received {received.Count}, effects {scenario.Effects(Notices)}, counts {BrokerScenario.Counts(host)}");
            Assert.Equal(100, received.Select(m => m.MessageId).Distinct().Count());
            Assert.Equal((100L, 100L), scenario.Effects(Notices));
        }
        finally
        {
            await scenario.DisposeHostAsync(host);
        }
    }

    [RabbitMqFact]
    public async Task Should_stop_a_node_while_the_broker_is_down()
    {
        await using var scenario = new BrokerScenario("stop-node");
        var noticeQueue = scenario.QueueName("notices");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched")));
        await host.AcceptAsync(new DispatchParcels("p-1", 5), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows == 5, "5 messages applied");

        await using (await TestBroker.ExclusiveAsync())
        {
            await TestBroker.StopAppAsync();
            await host.AcceptAsync(new DispatchParcels("p-1", 5), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist)); // its batch fails
            await BrokerQueues.WaitUntilAsync(async () => (await host.StatusAsync(Publisher)).LastError is not null, "the publisher reports the failed batch");

            // Stopping the node while its connection is down (recovering) neither throws nor hangs.
            var stopping = System.Diagnostics.Stopwatch.StartNew();
            await scenario.DisposeHostAsync(host);
            output.WriteLine($"node stopped in {stopping.Elapsed.TotalSeconds:0.0} s while the broker was down");
            await TestBroker.StartAppAsync();
        }

        // The next node on the database sends what the stopped one could not.
        var next = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(noticeQueue, o => o.Bindings.Add("parcel.dispatched")));
        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows >= 10, "10 messages applied");
        await scenario.WaitUntilPublishedAsync(next);
        Assert.Equal((10L, 10L), scenario.Effects(Notices));
    }

    [RabbitMqFact]
    public async Task Should_dead_letter_a_poison_message_and_keep_the_others_flowing()
    {
        await using var scenario = new BrokerScenario("poison-load");
        var queue = scenario.QueueName("notices");
        var host = await scenario.StartAsync(broker => BrokerScenario.PublishDispatched(broker)
            .AddSubscriber<ParcelNoticeSubscriber>(queue, o => o.Bindings.Add("parcel.dispatched")));
        var load = new CommandLoad(host, parcels: 10);

        var sending = load.SendAsync(199);
        await BrokerQueues.WaitUntilAsync(() => load.Accepted >= 100, "100 commands accepted");
        await TestBroker.PublishRawAsync(scenario.Exchange, "parcel.dispatched", "msg-poison", Encoding.UTF8.GetBytes("{\"parcelId\":"), "parcel.dispatched");
        await sending;

        await BrokerQueues.WaitUntilAsync(() => scenario.Effects(Notices).Rows >= 199 && scenario.DeadLetterRows(Notices) >= 1, "199 applied and 1 dead letter",
            TimeSpan.FromSeconds(60));
        await BrokerQueues.WaitUntilAsync(async () => await TestBroker.MessageCountAsync(queue) == 0, "the queue is empty");
        var journal = await BrokerScenario.DispatchedAsync(host, load.Parcels);
        var counts = BrokerScenario.Counts(host);
        output.WriteLine($"journal {journal.Count}, effects {scenario.Effects(Notices)}, dead letters {scenario.DeadLetterRows(Notices)}, counts {counts}");
        Assert.Equal(199, journal.Count);
        Assert.Equal((199L, 199L), scenario.Effects(Notices));
        Assert.Equal(1, scenario.DeadLetterRows(Notices));
        Assert.Equal(1, scenario.Database.Scalar("SELECT COUNT(*) FROM ae_dead_letters WHERE event_id = 'msg-poison'"));
        Assert.Equal(199, scenario.ProcessedRows(Notices));
        Assert.Equal(1, counts.DeadLettered);
    }

    /// <summary>Commands of a load: one <see cref="DispatchParcels"/> each, over a few parcels, several at once; a reply other than accepted is retried with the same id.</summary>
    private sealed class CommandLoad(ActorEventsTestHost host, int parcels, int eventsPerCommand = 1)
    {
        private int _next;
        private int _accepted;
        private int _retries;

        public IReadOnlyList<string> Parcels { get; } = Enumerable.Range(1, parcels).Select(i => $"load-{i}").ToArray();

        public int Accepted => Volatile.Read(ref _accepted);

        public int Retries => Volatile.Read(ref _retries);

        /// <summary>Sends <paramref name="commands"/> commands, <paramref name="concurrency"/> at once.</summary>
        public async Task SendAsync(int commands, int concurrency = 8)
        {
            var queue = new ConcurrentQueue<int>(Enumerable.Range(0, commands).Select(_ => Interlocked.Increment(ref _next)));
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (queue.TryDequeue(out var n))
                {
                    await SendOneAsync(n);
                }
            }));
        }

        /// <summary>Sends commands, two at once with a short pause after each, until <paramref name="stop"/> (the one in flight is finished).</summary>
        public Task RunAsync(CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                await SendOneAsync(Interlocked.Increment(ref _next));
                await Task.Delay(35, CancellationToken.None);
            }
        }));

        private async Task SendOneAsync(int n)
        {
            var metadata = new CommandMetadata($"load-cmd-{n}", ReplyMode: ReplyMode.AfterPersist);
            var command = new DispatchParcels(Parcels[n % Parcels.Count], eventsPerCommand);
            for (var attempt = 1; ; attempt++)
            {
                var result = await host.SendAsync(command, metadata);
                if (result.IsAccepted)
                {
                    Interlocked.Increment(ref _accepted);
                    return;
                }

                Assert.True(attempt < 20, $"command {n} was not accepted after {attempt} attempts: {result}");
                Interlocked.Increment(ref _retries);
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// Watches the publisher while the broker is down: what it had confirmed when the broker stopped bounds its
    /// position and its stored checkpoint; nothing more may be confirmed until the broker is back.
    /// </summary>
    private sealed class CheckpointWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task? _watching;

        public long ConfirmedAtStop { get; private init; }

        /// <summary>The journal position of the last message confirmed before the broker stopped (the publisher's position then, when higher).</summary>
        public long ConfirmedBound { get; private init; }

        public long HighestPosition { get; private set; }

        public long HighestStored { get; private set; }

        public long ConfirmedWhileDown { get; private set; }

        public int Samples { get; private set; }

        public static async Task<CheckpointWatch> StartAsync(BrokerScenario scenario, ActorEventsTestHost host)
        {
            var status = await host.StatusAsync(Publisher);
            var confirmed = BrokerScenario.Counts(host).Published;
            // Published in journal order, batch after batch: the first `confirmed` events of the source are the confirmed ones.
            var bound = confirmed == 0 ? 0 : scenario.Database.Scalar(
                "SELECT ordering_id FROM tags WHERE tag = @t ORDER BY ordering_id LIMIT 1 OFFSET @n", ("@t", status.Source), ("@n", confirmed - 1));
            var watch = new CheckpointWatch { ConfirmedAtStop = confirmed, ConfirmedBound = Math.Max(bound, status.Position) };
            watch._watching = watch.WatchAsync(scenario, host);
            return watch;
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _watching!;
            Dispose();
        }

        public void Dispose() => _stop.Dispose();

        public override string ToString() =>
            $"confirmed {ConfirmedAtStop} up to position {ConfirmedBound}; while down: {Samples} samples, highest position {HighestPosition}, " +
            $"highest stored checkpoint {HighestStored}, confirmed {ConfirmedWhileDown}";

        private async Task WatchAsync(BrokerScenario scenario, ActorEventsTestHost host)
        {
            while (!_stop.IsCancellationRequested)
            {
                var status = await host.StatusAsync(Publisher);
                HighestPosition = Math.Max(HighestPosition, status.Position);
                HighestStored = Math.Max(HighestStored, Math.Max(status.Checkpoint, scenario.StoredCheckpoint(Publisher)));
                ConfirmedWhileDown = BrokerScenario.Counts(host).Published - ConfirmedAtStop;
                Samples++;
                try
                {
                    await Task.Delay(200, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
