using RabbitMQ.Client;

namespace ActorEvents.Broker.Hosting;

/// <summary>
/// How the integration declares what it uses on the broker, in one place: the publisher and the subscribers declare the
/// same exchange, and a second declaration with other settings would be refused by the broker (PRECONDITION_FAILED).
/// </summary>
internal static class BrokerTopology
{
    /// <summary>Declares <paramref name="exchange"/> as a durable topic exchange (a no-op when it exists so).</summary>
    public static Task DeclareExchangeAsync(IChannel channel, string exchange, CancellationToken cancellationToken) =>
        channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
}
