using ActorEvents.Actors.Serialization;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>How the subscriptions' own control messages cross nodes (the operators' requests are message contracts the serializer knows).</summary>
internal static class SubscriptionWireFormats
{
    /// <summary>The subscriptions' wire formats.</summary>
    public static IReadOnlyList<IWireFormat> All { get; } = [new JsonWireFormat<ResolveProjectionDeadLetter>("ae.subscription.resolve-dead-letter")];
}
