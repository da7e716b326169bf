using System.ComponentModel.DataAnnotations;
using ActorEvents.Actors.Configuration;

namespace ActorEvents.Broker.Subscribing;

/// <summary>What to do with a message whose retries are used up.</summary>
public enum ExhaustedMessageAction
{
    /// <summary>Write it to ActorEvents' dead-letter store (inspect and replay it with <c>dlq</c>), then acknowledge it.</summary>
    DeadLetterStore = 1,

    /// <summary>Reject it without requeue: the broker routes it to the queue's dead-letter exchange.</summary>
    RejectToBroker = 2,
}

/// <summary>How a subscriber consumes its queue.</summary>
public sealed class SubscriberOptions
{
    /// <summary>Its name: the key of its de-duplication rows and dead letters (default: the subscriber class's name). Must not be a handler's name.</summary>
    public string? Name { get; set; }

    /// <summary>Routing keys the queue is bound with on <see cref="Exchange"/> (topic patterns, e.g. <c>order.shipped</c> or <c>order.#</c>); none: the queue is not bound.</summary>
    public List<string> Bindings { get; } = [];

    /// <summary>The exchange its bindings are on (default: <see cref="BrokerOptions.Exchange"/>).</summary>
    public string? Exchange { get; set; }

    /// <summary>
    /// The bound: at most this many unacknowledged messages are delivered to this node's consumer (AMQP prefetch), and
    /// they run concurrently (default 16).
    /// </summary>
    [Range(1, 1000)]
    public int Prefetch { get; set; } = 16;

    /// <summary>The queue's dead-letter exchange (argument <c>x-dead-letter-exchange</c>, set when the queue is declared); null: none.</summary>
    public string? DeadLetterExchange { get; set; }

    /// <summary>What happens to a message whose retries are used up (default: the dead-letter store).</summary>
    public ExhaustedMessageAction WhenExhausted { get; set; } = ExhaustedMessageAction.DeadLetterStore;

    /// <summary>
    /// Whether a message id already handled is acknowledged without running the subscriber (default true; needs SQLite or
    /// PostgreSQL: the row is in <c>ae_processed_events</c>, committed with the subscriber's writes).
    /// </summary>
    public bool Deduplicate { get; set; } = true;

    /// <summary>Declare the queue (durable) at start (default true); false: it must exist.</summary>
    public bool DeclareQueue { get; set; } = true;

    /// <summary>Its retry policy (default: the pipeline's, <c>ActorEvents:Pipeline:Retry</c>).</summary>
    public Action<RetryOptions>? Retry { get; set; }
}
