using System.Diagnostics.Metrics;

namespace ActorEvents.Broker.Hosting;

/// <summary>What the broker integration did on this node since it started (counts), also as instruments of the <c>ActorEvents</c> meter.</summary>
/// <param name="Published">Notifications the broker confirmed (a batch sent again after a failure counts again).</param>
/// <param name="Consumed">Messages whose subscriber ran and committed (acknowledged).</param>
/// <param name="Deduplicated">Messages acknowledged without running: their id was handled before.</param>
/// <param name="Requeued">Messages handed back to the broker by a subscriber's <c>Requeue</c>.</param>
/// <param name="Rejected">Messages rejected to the broker's dead-letter exchange.</param>
/// <param name="DeadLettered">Messages written to the dead-letter store.</param>
/// <param name="Retries">Subscriber runs retried after an exception.</param>
public sealed record BrokerCounts(long Published, long Consumed, long Deduplicated, long Requeued, long Rejected, long DeadLettered, long Retries);

/// <summary>The node's broker counters (a singleton): each is written by one kind of worker and read only as a snapshot.</summary>
public sealed class BrokerStatistics : IDisposable
{
    private readonly Meter _meter = new(ActorEvents.Actors.Telemetry.ActorEventsTelemetry.Name);
    private readonly Counter<long> _published;
    private readonly Counter<long> _consumed;
    private long _publishedCount;
    private long _consumedCount;
    private long _deduplicated;
    private long _requeued;
    private long _rejected;
    private long _deadLettered;
    private long _retries;

    /// <summary>Creates the counters.</summary>
    public BrokerStatistics()
    {
        _published = _meter.CreateCounter<long>("actorevents.broker.published", "{message}", "Notifications the broker confirmed.");
        _consumed = _meter.CreateCounter<long>("actorevents.broker.consumed", "{message}", "Broker messages by subscriber and outcome.");
    }

    /// <summary>A snapshot.</summary>
    public BrokerCounts Snapshot() => new(Interlocked.Read(ref _publishedCount), Interlocked.Read(ref _consumedCount), Interlocked.Read(ref _deduplicated),
        Interlocked.Read(ref _requeued), Interlocked.Read(ref _rejected), Interlocked.Read(ref _deadLettered), Interlocked.Read(ref _retries));

    internal void CountPublished(int messages)
    {
        Interlocked.Add(ref _publishedCount, messages);
        _published.Add(messages);
    }

    internal void CountOutcome(string subscriber, string outcome)
    {
        _ = outcome switch
        {
            Outcomes.Ack => Interlocked.Increment(ref _consumedCount),
            Outcomes.Deduplicated => Interlocked.Increment(ref _deduplicated),
            Outcomes.Requeue => Interlocked.Increment(ref _requeued),
            Outcomes.Reject => Interlocked.Increment(ref _rejected),
            Outcomes.DeadLetter => Interlocked.Increment(ref _deadLettered),
            _ => Interlocked.Increment(ref _retries),
        };
        _consumed.Add(1, new KeyValuePair<string, object?>("subscriber", subscriber), new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>The outcome tags of <c>actorevents.broker.consumed</c>.</summary>
    internal static class Outcomes
    {
        public const string Ack = "ack";
        public const string Deduplicated = "deduplicated";
        public const string Requeue = "requeue";
        public const string Reject = "reject";
        public const string DeadLetter = "dead-letter";
        public const string Retry = "retry";
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
