namespace ActorEvents.Actors.Aggregates;

/// <summary>The two journal tags every persisted event carries, which subscriptions read.</summary>
public static class AggregateTags
{
    /// <summary>Tag prefix for the aggregate type of an event: <c>aggregate:{type}</c>.</summary>
    public const string AggregatePrefix = "aggregate:";

    /// <summary>Tag prefix for the event type of an event: <c>event:{stable name}</c>.</summary>
    public const string EventPrefix = "event:";
}
