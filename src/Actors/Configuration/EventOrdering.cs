namespace ActorEvents.Actors.Configuration;

/// <summary>How the handler pool orders events.</summary>
public enum EventOrdering
{
    /// <summary>Events of one aggregate reach each handler in sequence order; other aggregates run in parallel.</summary>
    PerAggregate,

    /// <summary>No ordering: any item may run as soon as a worker is free.</summary>
    None,
}
