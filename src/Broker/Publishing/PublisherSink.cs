using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Subscriptions.Sinks;
using ActorEvents.Broker.Hosting;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace ActorEvents.Broker.Publishing;

/// <summary>
/// The publisher subscription's sink: each batch's published events go to the exchange on a channel with publisher
/// confirms, all at once, and the batch is finished only when the broker confirmed every one of them. Anything else
/// (broker down, connection dropped, a nack, no confirm within <see cref="BrokerOptions.ConfirmTimeout"/>) fails the
/// batch: the subscription sends it again after its backoff and its checkpoint waits, so nothing is lost and a message
/// may be sent twice (consumers de-duplicate by message id = event id).
/// </summary>
internal sealed class PublisherSink(BrokerRegistrations registrations, BrokerConnection connection, BrokerOptions options, BrokerStatistics statistics) : ISubscriptionSink, IAsyncDisposable
{
    private IChannel? _channel;

    /// <summary>Makes the sink from the node's services.</summary>
    public static PublisherSink Create(SubscriptionSinkContext context, BrokerRegistrations registrations)
    {
        using var scope = context.Runtime.Scopes.CreateScope();
        var services = scope.ServiceProvider;
        return new PublisherSink(registrations, services.GetRequiredService<BrokerConnection>(),
            services.GetRequiredService<IOptions<BrokerOptions>>().Value, services.GetRequiredService<BrokerStatistics>());
    }

    /// <inheritdoc />
    public bool StoresCheckpoint => false;

    /// <inheritdoc />
    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the channel opens with the first batch

    /// <inheritdoc />
    public async Task<BatchReport> DeliverAsync(SubscriptionBatch batch, CancellationToken cancellationToken)
    {
        var messages = new List<(EventEnvelope Envelope, NotificationPublication Publication, object Contract)>();
        var gaveUp = new List<string>();
        foreach (var (_, envelope) in batch.Events)
        {
            if (envelope.Event is UndecodableEvent undecodable)
            {
                gaveUp.Add($"event {envelope.EventId} of {envelope.StreamName} cannot be decoded ('{undecodable.TypeName}'): not published");
            }
            else if (registrations.PublicationOf(envelope.Event) is { } publication && publication.Map(envelope.Event, envelope) is { } contract)
            {
                messages.Add((envelope, publication, contract));
            }
        }

        if (messages.Count == 0)
        {
            return new BatchReport(gaveUp);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConfirmTimeout);
        try
        {
            var channel = await ChannelAsync(timeout.Token).ConfigureAwait(false);
            var confirms = messages.Select(m => channel.BasicPublishAsync(options.Exchange, m.Publication.RoutingKey, mandatory: false,
                NotificationMessage.PropertiesOf(m.Envelope, m.Publication, options.Source), NotificationMessage.BodyOf(m.Contract), timeout.Token).AsTask()).ToArray();
            await Task.WhenAll(confirms).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Unconfirmed messages are sent again with the whole batch, on a fresh channel.
            await DropChannelAsync().ConfigureAwait(false);
            throw;
        }

        statistics.CountPublished(messages.Count);
        return new BatchReport(gaveUp);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await DropChannelAsync().ConfigureAwait(false);

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open)
        {
            return open;
        }

        await DropChannelAsync().ConfigureAwait(false);
        var amqp = await connection.GetAsync(cancellationToken).ConfigureAwait(false);
        var channel = await amqp.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken).ConfigureAwait(false);
        await BrokerTopology.DeclareExchangeAsync(channel, options.Exchange, cancellationToken).ConfigureAwait(false);
        return _channel = channel;
    }

    private async Task DropChannelAsync()
    {
        if (_channel is not { } channel)
        {
            return;
        }

        _channel = null;
        try
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already broken: nothing to close.
        }
    }
}
