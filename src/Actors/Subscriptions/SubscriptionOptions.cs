using ActorEvents.Actors.Aggregates;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// What a subscription (or projection) reads and how it is tuned, as registered in code
/// (<c>AddSubscription("orders-audit", s => { s.Tag = "aggregate:order"; s.Profile = "fast"; })</c>).
/// </summary>
public sealed class SubscriptionOptions
{
    /// <summary>
    /// The journal tag it reads: <c>aggregate:{type}</c> (every event of an aggregate type) or <c>event:{name}</c> (one event
    /// type). Null reads every event of the journal (<c>AllEvents</c>).
    /// </summary>
    public string? Tag { get; set; }

    /// <summary>The profile it starts from: production (default for handlers), fast, batch, debug or projection (default for projections).</summary>
    public string? Profile { get; set; }

    /// <summary>Overrides the profile's batch size.</summary>
    public int? BatchSize { get; set; }

    /// <summary>Overrides the profile's checkpoint interval (events).</summary>
    public int? CheckpointEvery { get; set; }

    /// <summary>Overrides the profile's poll interval.</summary>
    public TimeSpan? PollInterval { get; set; }

    /// <summary>Overrides the profile's handler concurrency.</summary>
    public int? MaxConcurrentHandlers { get; set; }

    /// <summary>
    /// Names of the durable handlers it feeds. Empty: every durable handler that takes an event this tag carries and is
    /// not named by another subscription. A handler is fed by one subscription only, so it never runs twice for one event.
    /// </summary>
    public List<string> Handlers { get; } = [];

    /// <summary>Reads every event of one aggregate type.</summary>
    public SubscriptionOptions ForAggregate(string aggregateType)
    {
        Tag = AggregateTags.AggregatePrefix + aggregateType;
        return this;
    }

    /// <summary>Reads every event of one stable event type.</summary>
    public SubscriptionOptions ForEvent(string eventType)
    {
        Tag = AggregateTags.EventPrefix + eventType;
        return this;
    }

    /// <summary>Feeds this handler class (registered under its class name).</summary>
    public SubscriptionOptions Feed<THandler>() where THandler : class
    {
        Handlers.Add(typeof(THandler).Name);
        return this;
    }
}
