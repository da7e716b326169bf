using System.Diagnostics;
using ActorEvents.Bench.Domain;
using HdrHistogram;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>
/// RabbitMQ.Client 7 on its own, shaped like the broker integration's two ends: a publisher on a channel with publisher
/// confirms and confirm tracking that sends batches of persistent messages (all publishes of a batch awaited together,
/// as <c>PublisherSink</c> does), and a consumer with a prefetch that runs that many deliveries at once and acks each one
/// (as <c>SubscriberConsumer</c> does, without the de-duplication transaction). The broker's own ceiling on this machine.
/// </summary>
internal static class RawBroker
{
    /// <summary>A connection without automatic recovery (a bench run fails instead of waiting).</summary>
    public static Task<IConnection> ConnectAsync(string uri, CancellationToken cancellationToken) => new ConnectionFactory
    {
        Uri = new Uri(uri),
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        ClientProvidedName = $"actorevents-bench ({Environment.ProcessId})",
    }.CreateConnectionAsync(cancellationToken);

    /// <summary>Declares a durable topic exchange and a durable queue bound to it with <see cref="BenchBroker.Contract"/>.</summary>
    public static async Task DeclareAsync(IConnection connection, string exchange, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(queue, exchange, BenchBroker.Contract, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the queue and the exchange (best effort: a leftover bench-* queue is harmless but holds its messages).</summary>
    public static async Task DeleteAsync(string uri, string exchange, string queue)
    {
        try
        {
            await using var connection = await ConnectAsync(uri, CancellationToken.None).ConfigureAwait(false);
            await using var channel = await connection.CreateChannelAsync().ConfigureAwait(false);
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false).ConfigureAwait(false);
            await channel.ExchangeDeleteAsync(exchange, ifUnused: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException)
        {
            // Best effort.
        }
    }

    /// <summary>
    /// Publishes <paramref name="messages"/> notices of <paramref name="payloadBytes"/> characters in batches of
    /// <paramref name="batch"/>; returns when the broker confirmed the last batch. <paramref name="batchLatency"/> gets
    /// each batch's time from its first publish to its last confirm. <paramref name="unlimited"/> switches the client's
    /// limiter of outstanding confirms off (its default: 128, throttled from 64 on).
    /// </summary>
    public static async Task<TimeSpan> PublishAsync(IConnection connection, string exchange, int messages, int batch, int payloadBytes, HistogramBase batchLatency,
        bool unlimited, CancellationToken cancellationToken)
    {
        var options = unlimited
            ? new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null)
            : new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);
        await using var channel = await connection.CreateChannelAsync(options, cancellationToken).ConfigureAwait(false);
        var payload = BenchAggregate.PayloadOf(payloadBytes);
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        var confirms = new List<Task>(batch);
        while (sent < messages)
        {
            var size = Math.Min(batch, messages - sent);
            var batchStarted = Stopwatch.GetTimestamp();
            confirms.Clear();
            for (var i = 0; i < size; i++)
            {
                var id = Guid.NewGuid().ToString();
                var properties = new BasicProperties
                {
                    MessageId = id,
                    Type = BenchBroker.Contract,
                    Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
                    AppId = "actorevents-bench",
                    CorrelationId = id,
                    ContentType = "application/json",
                    ContentEncoding = "utf-8",
                    DeliveryMode = DeliveryModes.Persistent,
                    Headers = new Dictionary<string, object?> { ["ae-version"] = 1, ["ae-causation-id"] = id },
                };
                var body = BenchBroker.BodyOf(new BenchNotice($"a{sent + i}", 0, payload, DateTimeOffset.UtcNow));
                confirms.Add(channel.BasicPublishAsync(exchange, BenchBroker.Contract, mandatory: false, properties, body, cancellationToken).AsTask());
            }

            await Task.WhenAll(confirms).ConfigureAwait(false);
            LoadDriver.Record(batchLatency, batchStarted);
            sent += size;
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>A consumer of one queue that acks every message once it has read it, and tells when it has acked a given number.</summary>
    public sealed class Consumer : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly HistogramBase _latency;
        private readonly bool _deliveryLatency;
        private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly long _target;
        private long _acked;

        private Consumer(IChannel channel, long target, HistogramBase latency, bool deliveryLatency)
        {
            _channel = channel;
            _target = target;
            _latency = latency;
            _deliveryLatency = deliveryLatency;
        }

        /// <summary>Messages acknowledged so far.</summary>
        public long Acked => Interlocked.Read(ref _acked);

        /// <summary>Completes with the <see cref="Stopwatch"/> timestamp of the ack that reached the target.</summary>
        public Task<long> Done => _done.Task;

        /// <summary>
        /// Starts consuming <paramref name="queue"/> with <paramref name="prefetch"/> (and as many deliveries running at once).
        /// <paramref name="latency"/> gets, per message, the time from its publish to its ack (<paramref name="deliveryLatency"/>)
        /// or from its delivery to its ack.
        /// </summary>
        public static async Task<Consumer> StartAsync(IConnection connection, string queue, int prefetch, long target, HistogramBase latency, bool deliveryLatency,
            CancellationToken cancellationToken)
        {
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)prefetch), cancellationToken)
                .ConfigureAwait(false);
            await channel.BasicQosAsync(0, (ushort)prefetch, global: false, cancellationToken).ConfigureAwait(false);
            var consumer = new Consumer(channel, target, latency, deliveryLatency);
            var basic = new AsyncEventingBasicConsumer(channel);
            basic.ReceivedAsync += (_, delivery) => consumer.OnDeliveryAsync(delivery);
            await channel.BasicConsumeAsync(queue, autoAck: false, basic, cancellationToken).ConfigureAwait(false);
            return consumer;
        }

        private async Task OnDeliveryAsync(BasicDeliverEventArgs delivery)
        {
            var received = Stopwatch.GetTimestamp();
            var notice = BenchBroker.Read(delivery.Body.Span);
            await _channel.BasicAckAsync(delivery.DeliveryTag, multiple: false).ConfigureAwait(false);
            if (_deliveryLatency && notice is not null)
            {
                LoadDriver.Record(_latency, DateTimeOffset.UtcNow - notice.DecidedAt);
            }
            else
            {
                LoadDriver.Record(_latency, received);
            }

            if (Interlocked.Increment(ref _acked) == _target)
            {
                _done.TrySetResult(Stopwatch.GetTimestamp());
            }
        }

        /// <inheritdoc />
        public async ValueTask DisposeAsync()
        {
            try
            {
                await _channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException)
            {
                // The connection is gone already.
            }

            _channel.Dispose();
        }
    }
}

/// <summary>
/// CPU time of the local RabbitMQ server (the <c>beam.smp</c> process, read from <c>/proc</c>), to tell what the broker
/// itself costs per message on a machine whose cores it shares with the bench. Null where there is none to read.
/// </summary>
internal static class BrokerProcessCpu
{
    private static readonly Lazy<int?> Pid = new(Find);

    /// <summary>The server's CPU time so far, or null.</summary>
    public static TimeSpan? Now()
    {
        if (Pid.Value is not { } pid)
        {
            return null;
        }

        try
        {
            // Fields after the command name (which may contain spaces): state is field 3; utime and stime are 14 and 15.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static int? Find()
    {
        try
        {
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(folder), out var pid) && File.Exists(Path.Combine(folder, "comm"))
                    && File.ReadAllText(Path.Combine(folder, "comm")).Trim() == "beam.smp")
                {
                    return pid;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not readable.
        }

        return null;
    }
}
