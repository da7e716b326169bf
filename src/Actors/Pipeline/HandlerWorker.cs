using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Pipeline;

/// <summary>Worker → pool: the invocation of <paramref name="Item"/> outlived its timeout and is still running.</summary>
internal sealed record WorkerAbandoned(WorkItem Item);

/// <summary>
/// Runs one (event, handler) pair at a time (a <see cref="HandlerInvocation"/>: a fresh DI scope and handler instance, the
/// invocation timeout, error classification, and the handler's <see cref="IHandleErrors"/> hook) and reports it to its pool.
/// </summary>
/// <remarks>
/// The pool gives a worker its next item only after the worker's <see cref="WorkDone"/>, so the worker needs no mailbox
/// suspension: a handler that completes synchronously is answered from the same message, without a task scheduler
/// hop or an allocated state machine; one that goes asynchronous continues on the thread pool.
/// </remarks>
internal sealed class HandlerWorker : ReceiveActor
{
    private readonly HandlerInvocation _invocation;
    private readonly ILoggingAdapter _log;

    /// <summary>Creates the worker.</summary>
    public HandlerWorker(IServiceScopeFactory scopes, IHandlerInvocationFilter? filter = null)
    {
        _invocation = new HandlerInvocation(scopes, filter);
        _log = Context.GetLogger();
        Receive<RunWork>(run =>
        {
            // Captured here: the pool recognises the worker by the sender of WorkDone.
            var pool = Sender;
            var self = Self;
            var running = _invocation.RunAsync(run.Item.Handler, run.Item.Envelope, run.Item.Attempt, run.Policy,
                () => pool.Tell(new WorkerAbandoned(run.Item), self));
            if (running.IsCompletedSuccessfully)
            {
                pool.Tell(Done(run.Item, running.Result), self);
                return;
            }

            running.AsTask().ContinueWith(
                task => pool.Tell(task.IsCompletedSuccessfully ? Done(run.Item, task.Result) : Crashed(run.Item, task.Exception), self),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        });
    }

    /// <summary>What the pool is told of a finished invocation (and the log lines it is owed).</summary>
    private WorkDone Done(WorkItem item, InvocationResult result)
    {
        var envelope = item.Envelope;
        if (result.FinishedLate)
        {
            _log.Warning("Handler {0} finished {1} after its invocation timeout; counted as succeeded", item.Handler.Name, envelope.EventId);
        }

        if (result.HookError is { } hookError)
        {
            _log.Error(hookError, "The error hook of {0} threw while handling a failure on {1}; processing continues", item.Handler.Name, envelope.EventId);
        }

        var failure = result.Failure;
        var outcome = new HandlerOutcome(item.Handler.Name, envelope.EventId, envelope.EventType,
            failure is null ? HandlerStatus.Succeeded : HandlerStatus.Failed, failure?.ToString(), item.Attempt);
        return new WorkDone(item, outcome, result.FollowUps, failure);
    }

    /// <summary>Only if the worker itself broke (e.g. a scope that throws on dispose): the item fails, it is not lost.</summary>
    private static WorkDone Crashed(WorkItem item, Exception? error)
    {
        var failure = HandlerFailure.From(error?.GetBaseException() ?? new InvalidOperationException("The handler worker failed."), permanent: false);
        return new WorkDone(item, new HandlerOutcome(item.Handler.Name, item.Envelope.EventId, item.Envelope.EventType, HandlerStatus.Failed,
            failure.ToString(), item.Attempt), [], failure);
    }

    /// <summary>Props of a worker.</summary>
    public static Props Props(IServiceScopeFactory scopes, IHandlerInvocationFilter? filter = null) =>
        Akka.Actor.Props.Create(() => new HandlerWorker(scopes, filter));
}
