using System.ComponentModel.DataAnnotations;

namespace ActorEvents.Broker;

/// <summary>The RabbitMQ connection and defaults (section <c>ActorEvents:Broker</c>).</summary>
public sealed class BrokerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "ActorEvents:Broker";

    /// <summary>The AMQP URI, e.g. <c>amqp://guest:guest@127.0.0.1:5672/</c>. Empty: no broker (nothing is published or consumed).</summary>
    public string? Uri { get; set; }

    /// <summary>The exchange notifications are published to, and subscribers' queues are bound to by default (a durable topic exchange, declared at start).</summary>
    [Required]
    public string Exchange { get; set; } = "actorevents";

    /// <summary>The AMQP app id of published messages (their <c>Source</c>): the name of this service.</summary>
    [Required]
    public string Source { get; set; } = "actorevents";

    /// <summary>Pause between attempts to connect while the broker cannot be reached (the client then recovers connections by itself).</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one batch of publishes may wait for the broker's confirms before the batch counts as failed (and is sent again).</summary>
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether this node runs consumers for the subscribers (default true). The host's operator verbs (<c>dlq</c>,
    /// <c>subscriptions</c>, <c>load</c>) start their node with false: it can still replay a subscriber's dead letter,
    /// but takes nothing from the queues.
    /// </summary>
    public bool Consume { get; set; } = true;

    /// <summary>Whether a broker is configured.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(Uri);
}
