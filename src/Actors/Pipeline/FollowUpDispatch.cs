using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Makes the work items of a follow-up event a handler emitted: its envelope (the parent's aggregate and correlation, the
/// parent event as its cause, sequence number 0), matched to its handlers by the same function as a persisted event
/// (<see cref="HandlerSubscriptionTable.Match"/>), one level deeper than its parent. An unregistered event, or one past
/// the depth limit, is refused with the parent's failed outcome instead.
/// </summary>
/// <param name="types">The closed type map.</param>
/// <param name="subscriptions">The handlers of the pool.</param>
/// <param name="sourceNode">This node, stamped on the follow-up.</param>
/// <param name="maxDepth">The deepest cascade dispatched.</param>
internal sealed class FollowUpDispatch(MessageTypeRegistry types, HandlerSubscriptionTable subscriptions, string sourceNode, int maxDepth)
{
    /// <summary>The follow-up's items, or why it is refused.</summary>
    public FollowUpItems Create(WorkItem parent, FollowUpEvent followUp)
    {
        var envelope = parent.Envelope;
        var type = followUp.Event.GetType();
        if (!types.TryGet(type, out var registered))
        {
            return FollowUpItems.Refused(new HandlerOutcome(parent.Handler.Name, envelope.EventId, type.Name, HandlerStatus.Failed,
                $"Follow-up event '{type.FullName}' is not registered; it was not dispatched."), null);
        }

        var child = new EventEnvelope(followUp.EventId, registered.Name, registered.Version, followUp.EmittedAt,
            sourceNode, envelope.AggregateType, envelope.AggregateId, 0, envelope.CorrelationId, envelope.EventId,
            envelope.StreamName, followUp.Event) { TraceParent = followUp.TraceParent ?? envelope.TraceParent };
        var depth = parent.Depth + 1;
        if (depth > maxDepth)
        {
            return FollowUpItems.Refused(new HandlerOutcome(parent.Handler.Name, child.EventId, registered.Name, HandlerStatus.Failed,
                    $"Follow-up cascade exceeded the depth limit of {maxDepth}; '{registered.Name}' was not dispatched."),
                $"Follow-up cascade from {parent.Handler.Name} exceeded the depth limit {maxDepth} at '{registered.Name}' (correlation {envelope.CorrelationId}); it was stopped.");
        }

        return new FollowUpItems([.. subscriptions.Match(child).Select(handler => new WorkItem(parent.RequestId, child, handler, depth))], null, null);
    }
}

/// <summary>A follow-up's work items, or its refusal.</summary>
/// <param name="Items">One per matching handler (none when refused, or when no handler takes it).</param>
/// <param name="Refusal">The parent's failed outcome when it is refused.</param>
/// <param name="Error">What to log as an error (a cascade stopped at the depth limit).</param>
internal sealed record FollowUpItems(IReadOnlyList<WorkItem> Items, HandlerOutcome? Refusal, string? Error)
{
    /// <summary>A refused follow-up.</summary>
    public static FollowUpItems Refused(HandlerOutcome refusal, string? error) => new([], refusal, error);
}
