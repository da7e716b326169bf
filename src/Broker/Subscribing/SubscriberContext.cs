using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Broker.Subscribing;

/// <summary>What a subscriber knows of the message it handles.</summary>
public sealed class SubscriberContext
{
    internal SubscriberContext(BrokerMessage message, string subscriber, int attempt, IServiceProvider services, CancellationToken cancellationToken)
    {
        Message = message;
        Subscriber = subscriber;
        Attempt = attempt;
        Services = services;
        CancellationToken = cancellationToken;
    }

    /// <summary>The message as received (id, type, version, correlation, headers, payload).</summary>
    public BrokerMessage Message { get; }

    /// <summary>The subscriber's name.</summary>
    public string Subscriber { get; }

    /// <summary>1 for the first run of this delivery, 2 for the first retry, and so on (a replay from the dead-letter store continues the count).</summary>
    public int Attempt { get; }

    /// <summary>This message's DI scope.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Cancelled when the node stops or the invocation times out.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// The unit of work of this message (with a SQL database): reads through its connection, writes registered with
    /// <see cref="HandlerUnitOfWork.Write"/> commit with the message's de-duplication row after an <see cref="SubscriberResult.Ack"/>.
    /// </summary>
    public HandlerUnitOfWork UnitOfWork => Services.GetRequiredService<HandlerUnitOfWork>();

    /// <summary>
    /// Metadata for a command this message causes: its id is derived from the message id and the subscriber (or
    /// <paramref name="commandId"/>), so a redelivered message sends a duplicate the aggregate recognises; the correlation
    /// id is the message's (or its id), the origin stream <c>broker-&lt;subscriber&gt;</c>; it is answered after persist.
    /// </summary>
    public CommandMetadata CommandMetadata(string? commandId = null) =>
        new(commandId ?? $"{Message.MessageId}:{Subscriber}", Message.CorrelationId ?? Message.MessageId, $"broker-{Subscriber}", ReplyMode.AfterPersist);
}
