using ActorEvents.Messages;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// The refusals of an operator's subscription request, in one place: the office, the subscription and the client that
/// works on the tables answer the same request with the same code and the same words.
/// </summary>
internal static class SubscriptionRefusals
{
    public static SubscriptionOperationFailed Unknown(string name) =>
        new(name, SubscriptionErrorCode.UnknownSubscription, $"There is no subscription or projection named '{name}'.");

    public static SubscriptionOperationFailed NotAProjection(string name) =>
        new(name, SubscriptionErrorCode.NotAProjection,
            $"'{name}' feeds handlers, not a projector: there is no read model to rebuild. Use reset to replay its events.");

    public static SubscriptionOperationFailed NegativePosition(string name, long position) =>
        new(name, SubscriptionErrorCode.InvalidPosition, $"Position {position} is negative.");
}
