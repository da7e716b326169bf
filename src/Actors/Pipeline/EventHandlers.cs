using ActorEvents.Messages;

namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Implemented once per event type a handler class reacts to (Protean's <c>@handle</c>): one class may
/// implement it for several event types. <typeparamref name="TEvent"/> may also be an event base type
/// (e.g. an aggregate's event interface), which subscribes to every registered event that implements it.
/// </summary>
/// <typeparam name="TEvent">The event type.</typeparam>
public interface IHandle<in TEvent> where TEvent : IEvent
{
    /// <summary>Reacts to one event. Throwing marks the invocation failed; siblings and later events are not affected.</summary>
    Task HandleAsync(TEvent @event, EventContext context);
}

/// <summary>An any-event subscription: receives every event that passes the handler's stream filters.</summary>
public interface IHandleAnyEvent
{
    /// <summary>Reacts to one event.</summary>
    Task HandleAnyAsync(EventEnvelope envelope, EventContext context);
}

/// <summary>
/// Protean's <c>handle_error</c>: implemented by a handler class that wants to hear about its own failures.
/// Called once after every failed invocation (before any retry); if the hook itself throws, that is logged
/// and processing continues.
/// </summary>
public interface IHandleErrors
{
    /// <summary>Reacts to a failed invocation.</summary>
    Task HandleErrorAsync(Exception error, EventEnvelope envelope, EventContext context);
}

/// <summary>
/// What a handler gets next to the typed event: the envelope, a way to emit follow-up events, the scoped
/// services of this invocation, and a cancellation token that fires on the invocation timeout.
/// </summary>
public sealed class EventContext
{
    private List<FollowUpEvent>? _followUps;

    internal EventContext(EventEnvelope envelope, string handlerName, int attempt, IServiceProvider services, CancellationToken cancellationToken)
    {
        Envelope = envelope;
        HandlerName = handlerName;
        Attempt = attempt;
        Services = services;
        CancellationToken = cancellationToken;
    }

    /// <summary>The event with its metadata.</summary>
    public EventEnvelope Envelope { get; }

    /// <summary>Name of the handler being run.</summary>
    public string HandlerName { get; }

    /// <summary>1 for the first invocation, higher for retries.</summary>
    public int Attempt { get; }

    /// <summary>Services of this invocation's own scope.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Cancelled when the invocation times out or the node shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Follow-up events emitted so far.</summary>
    public IReadOnlyList<IEvent> FollowUps => _followUps?.ConvertAll(f => f.Event) ?? [];

    /// <summary>The follow-ups to dispatch once this invocation succeeded, each with the id it got when it was emitted.</summary>
    internal IReadOnlyList<FollowUpEvent> EmittedFollowUps => (IReadOnlyList<FollowUpEvent>?)_followUps ?? [];

    /// <summary>
    /// Emits a follow-up event (python-cqrs <c>handler.events</c>). It runs through the same pipeline after this
    /// handler completes successfully, with this event's correlation id and this event's id as causation id.
    /// Its type must be registered. Its event id is given here, once: a guarded durable handler stores its
    /// follow-ups with its processed-event record, and a redelivery dispatches them again under the same ids.
    /// </summary>
    public void Emit(IEvent followUp) => (_followUps ??= []).Add(new FollowUpEvent(Guid.CreateVersion7().ToString("N"), DateTimeOffset.UtcNow, followUp)
    {
        TraceParent = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } current ? current.Id : Envelope.TraceParent,
    });

    /// <summary>
    /// Replaces the follow-ups by those a previous run of this (handler, event) emitted: an invocation filter that skips
    /// a redelivered event hands back what the handler's effect included, so the pool dispatches it again.
    /// </summary>
    internal void RestoreFollowUps(IReadOnlyList<FollowUpEvent> followUps) => _followUps = [.. followUps];

    /// <summary>
    /// Metadata for a command sent because of this event: same correlation id, this event as causation,
    /// and replying right after persist (a handler must not wait for handlers that need the slot it holds).
    /// </summary>
    public CommandMetadata CommandMetadata(string? commandId = null) =>
        new(commandId ?? $"{Envelope.EventId}:{HandlerName}", Envelope.CorrelationId, Envelope.StreamName, ReplyMode.AfterPersist);
}

/// <summary>A follow-up event as a handler emitted it: the id and time it was given then, and the event.</summary>
/// <param name="EventId">Its event id (kept when it is dispatched again after a redelivery of its parent).</param>
/// <param name="EmittedAt">When it was emitted (its envelope's <see cref="EventEnvelope.OccurredAt"/>).</param>
/// <param name="Event">The event.</param>
public sealed record FollowUpEvent(string EventId, DateTimeOffset EmittedAt, IEvent Event)
{
    /// <summary>W3C <c>traceparent</c> of the handler span that emitted it (its handlers' spans are children of that span).</summary>
    public string? TraceParent { get; init; }
}
