using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions;
using Akka.Actor;

namespace ActorEvents.Actors.Hosting;

/// <summary>The wire formats of every runtime message that crosses nodes or is stored, gathered from the rooms that define them.</summary>
internal static class RuntimeWireFormats
{
    /// <summary>The aggregates' and the subscriptions' formats.</summary>
    public static IReadOnlyList<IWireFormat> All { get; } = [.. AggregateWireFormats.All, .. SubscriptionWireFormats.All];

    /// <summary>The types the node's <see cref="ActorEventsSerializer"/> is bound to.</summary>
    public static IReadOnlyList<Type> BoundTypes { get; } = ActorEventsSerializer.BoundTypes(All);

    /// <summary>The node's serializer over <paramref name="registry"/>.</summary>
    public static ActorEventsSerializer Serializer(ExtendedActorSystem system, MessageTypeRegistry registry) => new(system, registry, All);
}
