using System.Diagnostics;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Pipeline;

/// <summary>Worker → pool: the invocation of <paramref name="Item"/> outlived its timeout and is still running.</summary>
internal sealed record WorkerAbandoned(WorkItem Item);

/// <summary>
/// Runs one (event, handler) pair at a time: a fresh DI scope and handler instance, the invocation timeout,
/// error classification, and the handler's <see cref="IHandleErrors"/> hook. Every error is caught.
/// </summary>
/// <remarks>
/// The pool gives a worker its next item only after the worker's <see cref="WorkDone"/>, so the worker needs no mailbox
/// suspension: a handler that completes synchronously is answered from the same message, without a task scheduler
/// hop or an allocated state machine; one that goes asynchronous continues on the thread pool.
/// </remarks>
internal sealed class HandlerWorker : ReceiveActor
{
    private readonly IServiceScopeFactory _scopes;
    private readonly IHandlerInvocationFilter? _filter;
    private readonly ILoggingAdapter _log;

    /// <summary>Creates the worker.</summary>
    public HandlerWorker(IServiceScopeFactory scopes, IHandlerInvocationFilter? filter = null)
    {
        _scopes = scopes;
        _filter = filter;
        _log = Context.GetLogger();
        Receive<RunWork>(run =>
        {
            // Captured here: the pool recognises the worker by the sender of WorkDone.
            var pool = Sender;
            var self = Self;
            var running = RunAsync(run.Item, run.Policy, () => pool.Tell(new WorkerAbandoned(run.Item), self));
            if (running.IsCompletedSuccessfully)
            {
                pool.Tell(running.Result, self);
                return;
            }

            running.AsTask().ContinueWith(
                task => pool.Tell(task.IsCompletedSuccessfully ? task.Result : Crashed(run.Item, task.Exception), self),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        });
    }

    private async ValueTask<WorkDone> RunAsync(WorkItem item, RetryOptions policy, Action abandoned)
    {
        var envelope = item.Envelope;
        IReadOnlyList<FollowUpEvent> followUps = [];
        HandlerFailure? failure = null;
        var scope = _scopes.CreateAsyncScope();
        // The deadline's timer is armed only when the invocation goes asynchronous (what is left of the timeout by then):
        // an invocation that completes synchronously needs none, and costs no timer.
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource();
        // The handler's span is Activity.Current while it runs (this async method's own context): commands it sends
        // through the client and follow-ups it emits continue it.
        using var run = HandlerRunTrace.Start(item.Handler.Name, envelope, item.Attempt);
        object? handler = null;
        EventContext? context = null;
        Task? invocation = null;
        try
        {
            if (envelope.Event is UndecodableEvent undecodable)
            {
                // No handler is given an event it cannot read: it fails for good and goes to the dead-letter store, payload kept.
                throw new UndecodableEventException(envelope, undecodable);
            }

            handler = ServiceActivation.Create(scope.ServiceProvider, item.Handler.HandlerType);
            context = new EventContext(envelope, item.Handler.Name, item.Attempt, scope.ServiceProvider, timeout.Token);
            invocation = _filter is null
                ? item.Handler.InvokeAsync(handler, envelope, context)
                : _filter.InvokeAsync(item.Handler, context, () => item.Handler.InvokeAsync(handler, envelope, context));
            // A completed invocation is awaited as is (rethrowing its exception, if any); only a pending one needs the deadline.
            var waiting = invocation;
            if (!invocation.IsCompleted)
            {
                if (policy.InvocationTimeout != Timeout.InfiniteTimeSpan)
                {
                    var left = policy.InvocationTimeout - Stopwatch.GetElapsedTime(started);
                    timeout.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                }

                waiting = invocation.WaitAsync(timeout.Token);
            }

            await waiting.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // One deadline: the invocation's token. Whether the wait gave up or a handler that honours
            // context.CancellationToken threw first, it is an OperationCanceledException: the invocation timed out.
            var timedOut = e is OperationCanceledException && timeout.IsCancellationRequested;
            var error = timedOut && invocation is { IsCompleted: false }
                ? await OutlivedTimeoutAsync(item, invocation, policy, abandoned, e).ConfigureAwait(false)
                : timedOut ? TimedOut(item, policy, e) : e;
            if (error is not null)
            {
                failure = HandlerFailure.From(error, error is UndecodableEventException || policy.IsPermanent(error));
                await RunErrorHookAsync(handler, error, envelope, context, item).ConfigureAwait(false);
            }
        }
        finally
        {
            await scope.DisposeAsync().ConfigureAwait(false);
        }

        if (failure is null)
        {
            followUps = context!.EmittedFollowUps;
        }

        var outcome = new HandlerOutcome(item.Handler.Name, envelope.EventId, envelope.EventType,
            failure is null ? HandlerStatus.Succeeded : HandlerStatus.Failed, failure?.ToString(), item.Attempt);
        run.Finish(failure?.ErrorType, failure?.Message);
        return new WorkDone(item, outcome, followUps, failure);
    }

    private static TimeoutException TimedOut(WorkItem item, RetryOptions policy, Exception cause) =>
        new($"Handler '{item.Handler.Name}' did not finish within {policy.InvocationTimeout.TotalMilliseconds:0} ms.", cause);

    /// <summary>
    /// The handler ignores its token and runs on past its timeout: the next attempt must not start (nor its scope be
    /// disposed) under it. The pool replaces this worker meanwhile; the item is reported once the invocation really ended,
    /// with what really happened: a late success is a success (its effects happened, null), anything else a failure.
    /// </summary>
    private async Task<Exception?> OutlivedTimeoutAsync(WorkItem item, Task invocation, RetryOptions policy, Action abandoned, Exception cause)
    {
        abandoned();
        await invocation.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
            .ConfigureAwait(false);
        if (invocation.IsCompletedSuccessfully)
        {
            _log.Warning("Handler {0} finished {1} after its invocation timeout; counted as succeeded", item.Handler.Name, item.Envelope.EventId);
            return null;
        }

        return invocation.Exception?.GetBaseException() is { } late and not OperationCanceledException ? late : TimedOut(item, policy, cause);
    }

    private async Task RunErrorHookAsync(object? handler, Exception error, EventEnvelope envelope, EventContext? context, WorkItem item)
    {
        if (handler is not IHandleErrors hook || context is null)
        {
            return;
        }

        try
        {
            await hook.HandleErrorAsync(error, envelope, context).ConfigureAwait(false);
        }
        catch (Exception hookError)
        {
            _log.Error(hookError, "The error hook of {0} threw while handling a failure on {1}; processing continues", item.Handler.Name, envelope.EventId);
        }
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

/// <summary>The event's journal row cannot be decoded any more (see <see cref="UndecodableEvent"/>): it is dead-lettered at once, with its payload.</summary>
/// <param name="envelope">The event.</param>
/// <param name="undecodable">What was stored.</param>
public sealed class UndecodableEventException(EventEnvelope envelope, UndecodableEvent undecodable)
    : Exception($"{envelope.StreamName} #{envelope.SequenceNr}: event '{undecodable.TypeName}' v{undecodable.Version} cannot be decoded: {undecodable.Reason}");
