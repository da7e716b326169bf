using ActorEvents.Actors.Supervision;
using ActorEvents.Broker.Hosting;
using ActorEvents.Messages;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ActorEvents.Broker.Subscribing;

/// <summary>
/// One subscriber's consumer on this node: declares and binds its queue, asks for at most <see cref="SubscriberOptions.Prefetch"/>
/// unacknowledged messages and runs that many at once, and settles each message with the broker once its
/// <see cref="SubscriberRunner">run</see> is decided. A message is acknowledged only after its effect committed (or it
/// was de-duplicated, or written to the dead-letter store): a crash before that leaves it unacknowledged, and the broker
/// delivers it again.
/// </summary>
internal sealed class SubscriberConsumer(SubscriberRunner runner, BrokerConnection connection, BrokerOptions options, IDeadLetterStore deadLetters,
    BrokerStatistics statistics, ILogger log) : IAsyncDisposable
{
    private IChannel? _channel;

    private SubscriberRegistration Registration => runner.Registration;

    /// <summary>
    /// Run (in the background) when the broker cancels the consumer: its queue was deleted, or moved with its node. The
    /// client does not recover such a consumer by itself (only one lost with its connection): it must be started again.
    /// </summary>
    public Func<Task>? CancelledByBroker { get; init; }

    /// <summary>Opens its channel, declares its queue and starts consuming (waits while the broker cannot be reached).</summary>
    public async Task StartAsync(CancellationToken stopping)
    {
        var amqp = await connection.GetAsync(stopping).ConfigureAwait(false);
        var prefetch = (ushort)Registration.Options.Prefetch;
        var channel = await amqp.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: prefetch), stopping).ConfigureAwait(false);
        if (Registration.Options.DeclareQueue)
        {
            var arguments = Registration.Options.DeadLetterExchange is { } dlx ? new Dictionary<string, object?> { ["x-dead-letter-exchange"] = dlx } : null;
            await channel.QueueDeclareAsync(Registration.Queue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: stopping).ConfigureAwait(false);
        }

        var exchange = Registration.Options.Exchange ?? options.Exchange;
        if (Registration.Options.Bindings.Count > 0)
        {
            await BrokerTopology.DeclareExchangeAsync(channel, exchange, stopping).ConfigureAwait(false);
        }

        foreach (var binding in Registration.Options.Bindings)
        {
            await channel.QueueBindAsync(Registration.Queue, exchange, binding, cancellationToken: stopping).ConfigureAwait(false);
        }

        await channel.BasicQosAsync(0, prefetch, global: false, stopping).ConfigureAwait(false);
        var consumer = new CancelAwareConsumer(channel, CancelledByBroker);
        consumer.ReceivedAsync += (_, delivery) => OnDeliveryAsync(channel, delivery, stopping);
        await channel.BasicConsumeAsync(Registration.Queue, autoAck: false, consumer, stopping).ConfigureAwait(false);
        _channel = channel;
        BrokerLog.Consuming(log, Registration.Name, Registration.Queue, prefetch);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            _channel = null;
            try
            {
                await channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The connection is gone already: its unacknowledged messages go back to the queue.
            }

            channel.Dispose();
        }
    }

    private async Task OnDeliveryAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stopping)
    {
        var message = BrokerMessageReader.Read(delivery, Registration.Queue);
        try
        {
            var verdict = await runner.RunAsync(message, stopping).ConfigureAwait(false);
            await SettleAsync(channel, delivery.DeliveryTag, message, verdict, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (stopping.IsCancellationRequested || e is RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            // Stopping, or the channel is gone: the message is not acknowledged, so the broker delivers it again.
        }
        catch (Exception e)
        {
            BrokerLog.NotSettled(log, e, Registration.Name, message.MessageId);
            await NackQuietlyAsync(channel, delivery.DeliveryTag).ConfigureAwait(false);
        }
    }

    private async Task SettleAsync(IChannel channel, ulong tag, BrokerMessage message, SubscriberVerdict verdict, CancellationToken stopping)
    {
        switch (verdict.Outcome)
        {
            case SubscriberOutcome.Ack:
                await channel.BasicAckAsync(tag, multiple: false, stopping).ConfigureAwait(false);
                statistics.CountOutcome(Registration.Name, verdict.Deduplicated ? BrokerStatistics.Outcomes.Deduplicated : BrokerStatistics.Outcomes.Ack);
                break;
            case SubscriberOutcome.Requeue:
                await Task.Delay(verdict.Delay, stopping).ConfigureAwait(false);
                await channel.BasicNackAsync(tag, multiple: false, requeue: true, stopping).ConfigureAwait(false);
                statistics.CountOutcome(Registration.Name, BrokerStatistics.Outcomes.Requeue);
                break;
            case SubscriberOutcome.Reject:
                BrokerLog.Rejected(log, Registration.Name, message.MessageId, verdict.Failure);
                await channel.BasicRejectAsync(tag, requeue: false, stopping).ConfigureAwait(false);
                statistics.CountOutcome(Registration.Name, BrokerStatistics.Outcomes.Reject);
                break;
            default:
                var failure = verdict.Failure ?? new HandlerFailure("SubscriberResult", "dead-lettered", null, true);
                var id = await deadLetters.AddAsync(new NewDeadLetter(Registration.Name, SubscriberRunner.EnvelopeOf(message), failure, verdict.Attempts,
                    verdict.FirstFailureAt ?? DateTimeOffset.UtcNow), stopping).ConfigureAwait(false);
                BrokerLog.DeadLettered(log, Registration.Name, message.MessageId, verdict.Attempts, id, failure);
                await channel.BasicAckAsync(tag, multiple: false, stopping).ConfigureAwait(false);
                statistics.CountOutcome(Registration.Name, BrokerStatistics.Outcomes.DeadLetter);
                break;
        }
    }

    /// <summary>A consumer that reports a cancel sent by the broker (not one of its own, nor a channel shutdown: the client recovers those).</summary>
    private sealed class CancelAwareConsumer(IChannel channel, Func<Task>? cancelledByBroker) : AsyncEventingBasicConsumer(channel)
    {
        public override async Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
        {
            await base.HandleBasicCancelAsync(consumerTag, cancellationToken).ConfigureAwait(false);
            if (cancelledByBroker is { } restart)
            {
                // Not on the channel's dispatcher: the restart closes this channel.
                _ = Task.Run(restart, CancellationToken.None);
            }
        }
    }

    private static async Task NackQuietlyAsync(IChannel channel, ulong tag)
    {
        try
        {
            await channel.BasicNackAsync(tag, multiple: false, requeue: true).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The channel is gone: the broker requeues it anyway.
        }
    }
}
