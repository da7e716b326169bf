using System.Diagnostics;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Pipeline;

/// <summary>What one invocation of a handler did.</summary>
/// <param name="FollowUps">The follow-up events it emitted (none after a failure: they are dispatched only after a success).</param>
/// <param name="Error">What it failed with (the timeout's <see cref="TimeoutException"/> when it ran out of time), or null.</param>
/// <param name="Failure">The failure as the runtime records it (permanent or not), or null.</param>
/// <param name="HookError">What the handler's error hook threw, if it did (the outcome stays the handler's failure).</param>
/// <param name="FinishedLate">It ran on past its timeout, ignoring its token, and then succeeded (counted as a success).</param>
internal sealed record InvocationResult(IReadOnlyList<FollowUpEvent> FollowUps, Exception? Error, HandlerFailure? Failure, Exception? HookError, bool FinishedLate);

/// <summary>
/// One run of one handler for one envelope, as the runtime runs it: a fresh DI scope and handler instance, the invocation
/// filter, the invocation timeout, the error's classification (permanent or not) and the handler's
/// <see cref="IHandleErrors"/> hook. Every error is caught. The handler workers run it, and so does the TestKit's handler
/// scenario, so that a test sees what the runtime does.
/// </summary>
/// <param name="scopes">Where each run's scope comes from.</param>
/// <param name="filter">Wraps every invocation (null: none).</param>
internal sealed class HandlerInvocation(IServiceScopeFactory scopes, IHandlerInvocationFilter? filter = null)
{
    /// <summary>Runs <paramref name="handler"/> once for <paramref name="envelope"/>.</summary>
    /// <param name="handler">The handler.</param>
    /// <param name="envelope">The event.</param>
    /// <param name="attempt">Which attempt this is (1 for the first).</param>
    /// <param name="policy">The handler's retry options (its invocation timeout and permanent errors).</param>
    /// <param name="abandoned">Called when the invocation outlives its timeout and is still running (the result waits for its real end).</param>
    /// <param name="cancellationToken">Cancels the run as its timeout would.</param>
    public async ValueTask<InvocationResult> RunAsync(
        HandlerDescriptor handler, EventEnvelope envelope, int attempt, RetryOptions policy, Action abandoned, CancellationToken cancellationToken = default)
    {
        HandlerFailure? failure = null;
        Exception? error = null;
        Exception? hookError = null;
        var finishedLate = false;
        var scope = scopes.CreateAsyncScope();
        // The deadline's timer is armed only when the invocation goes asynchronous (what is left of the timeout by then):
        // an invocation that completes synchronously needs none, and costs no timer.
        var started = Stopwatch.GetTimestamp();
        using var timeout = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken) : new CancellationTokenSource();
        // The handler's span is Activity.Current while it runs (this async method's own context): commands it sends
        // through the client and follow-ups it emits continue it.
        using var run = HandlerRunTrace.Start(handler.Name, envelope, attempt);
        object? instance = null;
        EventContext? context = null;
        Task? invocation = null;
        try
        {
            if (envelope.Event is UndecodableEvent undecodable)
            {
                // No handler is given an event it cannot read: it fails for good and goes to the dead-letter store, payload kept.
                throw new UndecodableEventException(envelope, undecodable);
            }

            instance = ServiceActivation.Create(scope.ServiceProvider, handler.HandlerType);
            context = new EventContext(envelope, handler.Name, attempt, scope.ServiceProvider, timeout.Token);
            invocation = filter is null
                ? handler.InvokeAsync(instance, envelope, context)
                : filter.InvokeAsync(handler, context, () => handler.InvokeAsync(instance, envelope, context));
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
            if (timedOut && invocation is { IsCompleted: false })
            {
                error = await OutlivedTimeoutAsync(handler, invocation, policy, abandoned, e).ConfigureAwait(false);
                finishedLate = error is null;
            }
            else
            {
                error = timedOut ? TimedOut(handler, policy, e) : e;
            }

            if (error is not null)
            {
                failure = HandlerFailure.From(error, error is UndecodableEventException || policy.IsPermanent(error));
                hookError = await RunErrorHookAsync(instance, error, envelope, context).ConfigureAwait(false);
            }
        }
        finally
        {
            await scope.DisposeAsync().ConfigureAwait(false);
        }

        run.Finish(failure?.ErrorType, failure?.Message);
        return new InvocationResult(failure is null ? context!.EmittedFollowUps : [], error, failure, hookError, finishedLate);
    }

    private static TimeoutException TimedOut(HandlerDescriptor handler, RetryOptions policy, Exception cause) =>
        new($"Handler '{handler.Name}' did not finish within {policy.InvocationTimeout.TotalMilliseconds:0} ms.", cause);

    /// <summary>
    /// The handler ignores its token and runs on past its timeout: the next attempt must not start (nor its scope be
    /// disposed) under it. The invocation is reported once it really ended, with what really happened: a late success is a
    /// success (its effects happened: null), anything else a failure.
    /// </summary>
    private static async Task<Exception?> OutlivedTimeoutAsync(HandlerDescriptor handler, Task invocation, RetryOptions policy, Action abandoned, Exception cause)
    {
        abandoned();
        await invocation.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
            .ConfigureAwait(false);
        if (invocation.IsCompletedSuccessfully)
        {
            return null;
        }

        return invocation.Exception?.GetBaseException() is { } late and not OperationCanceledException ? late : TimedOut(handler, policy, cause);
    }

    /// <summary>The handler's error hook, if it has one; what the hook throws is returned (to be logged), not thrown.</summary>
    private static async Task<Exception?> RunErrorHookAsync(object? handler, Exception error, EventEnvelope envelope, EventContext? context)
    {
        if (handler is not IHandleErrors hook || context is null)
        {
            return null;
        }

        try
        {
            await hook.HandleErrorAsync(error, envelope, context).ConfigureAwait(false);
            return null;
        }
        catch (Exception hookError)
        {
            return hookError;
        }
    }
}

/// <summary>The event's journal row cannot be decoded any more (see <see cref="UndecodableEvent"/>): it is dead-lettered at once, with its payload.</summary>
/// <param name="envelope">The event.</param>
/// <param name="undecodable">What was stored.</param>
public sealed class UndecodableEventException(EventEnvelope envelope, UndecodableEvent undecodable)
    : Exception($"{envelope.StreamName} #{envelope.SequenceNr}: event '{undecodable.TypeName}' v{undecodable.Version} cannot be decoded: {undecodable.Reason}");
