using ActorEvents.Messages;

namespace ActorEvents.Broker.Subscribing;

/// <summary>
/// Consumes messages of one broker queue (Protean's subscriber, an anti-corruption layer): <typeparamref name="TMessage"/>
/// is <see cref="BrokerMessage"/> for the raw message, or a contract type its JSON payload is read as. Resolved from DI
/// in a scope per message; it may send commands (<see cref="SubscriberContext.CommandMetadata"/> derives their ids from
/// the message id, so a redelivered message's command is a duplicate) and register writes in its unit of work.
/// </summary>
/// <typeparam name="TMessage">The raw message or a contract.</typeparam>
public interface ISubscriber<in TMessage>
{
    /// <summary>Handles one message and says what becomes of it. A thrown exception is retried under the subscriber's retry policy.</summary>
    Task<SubscriberResult> HandleAsync(TMessage message, SubscriberContext context);
}

/// <summary>What becomes of a message.</summary>
public enum SubscriberOutcome
{
    /// <summary>Done: acknowledged (its unit-of-work writes and its de-duplication row committed first).</summary>
    Ack = 1,

    /// <summary>Not now: after a delay it is handed back to the broker (nack with requeue) and delivered again, to this node or another.</summary>
    Requeue = 2,

    /// <summary>Refused: rejected without requeue, so the broker routes it to the queue's dead-letter exchange (dropped when the queue has none).</summary>
    Reject = 3,

    /// <summary>Given up: written to ActorEvents' dead-letter store (see <c>dlq list</c>, <c>dlq replay</c>), then acknowledged.</summary>
    DeadLetter = 4,
}

/// <summary>The result of one message: an outcome, with the delay of a requeue and the reason of a rejection or dead letter.</summary>
public sealed record SubscriberResult
{
    private SubscriberResult(SubscriberOutcome outcome, TimeSpan delay, string? reason)
    {
        Outcome = outcome;
        Delay = delay;
        Reason = reason;
    }

    /// <summary>The outcome.</summary>
    public SubscriberOutcome Outcome { get; }

    /// <summary>How long a requeued message is held before it is handed back (it keeps its prefetch slot meanwhile).</summary>
    public TimeSpan Delay { get; }

    /// <summary>Why it was rejected or dead-lettered.</summary>
    public string? Reason { get; }

    /// <summary>Done.</summary>
    public static SubscriberResult Ack { get; } = new(SubscriberOutcome.Ack, TimeSpan.Zero, null);

    /// <summary>Deliver it again after <paramref name="delay"/> (nothing of this run is committed).</summary>
    public static SubscriberResult Requeue(TimeSpan delay) => new(SubscriberOutcome.Requeue, delay, null);

    /// <summary>Reject it to the queue's dead-letter exchange (nothing of this run is committed).</summary>
    public static SubscriberResult Reject(string reason) => new(SubscriberOutcome.Reject, TimeSpan.Zero, reason);

    /// <summary>Put it in the dead-letter store (nothing of this run is committed).</summary>
    public static SubscriberResult DeadLetter(string reason) => new(SubscriberOutcome.DeadLetter, TimeSpan.Zero, reason);
}
