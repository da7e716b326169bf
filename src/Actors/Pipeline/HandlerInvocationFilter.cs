namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// Wraps every handler invocation of a pool (e.g. in a unit of work that records the event as processed, so a
/// redelivered event is skipped). Runs inside the worker, within the handler's invocation timeout; an exception
/// counts as the handler's failure.
/// </summary>
public interface IHandlerInvocationFilter
{
    /// <summary>Runs <paramref name="invoke"/> (the handler) for one event, or decides not to.</summary>
    /// <param name="handler">The handler being run.</param>
    /// <param name="context">The invocation's context (envelope, scoped services, cancellation).</param>
    /// <param name="invoke">Runs the handler.</param>
    Task InvokeAsync(HandlerDescriptor handler, EventContext context, Func<Task> invoke);
}
