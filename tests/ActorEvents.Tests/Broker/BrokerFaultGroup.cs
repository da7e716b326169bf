namespace ActorEvents.Tests.Broker;

/// <summary>
/// Every test that uses the broker is in this collection: xunit runs its tests one at a time, so a fault test that stops
/// the broker's app or closes all its connections never runs beside another broker test, while the collection as a
/// whole runs in parallel with the tests that do not use the broker (which a broker fault cannot disturb).
/// </summary>
[CollectionDefinition(Name)]
public sealed class BrokerFaultGroup
{
    /// <summary>Collection name.</summary>
    public const string Name = "broker-faults";
}
