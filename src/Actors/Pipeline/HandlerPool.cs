using System.Collections.Concurrent;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Pipeline;

/// <summary>Settings of one handler pool.</summary>
/// <param name="MaxConcurrentEventHandlers">Most (event, handler) pairs running at once.</param>
/// <param name="ConcurrentEventHandleEnable">False: one at a time, in emission order (follow-ups breadth-first).</param>
/// <param name="Ordering">Per-aggregate ordering or none (parallel mode only).</param>
/// <param name="MaxFollowUpDepth">Deepest follow-up cascade allowed.</param>
/// <param name="SourceNode">This node's address, stamped on follow-up events.</param>
/// <param name="Retry">Default retry policy of handlers.</param>
public sealed record HandlerPoolSettings(int MaxConcurrentEventHandlers, bool ConcurrentEventHandleEnable, EventOrdering Ordering, int MaxFollowUpDepth,
    string SourceNode, RetryOptions Retry)
{
    /// <summary>Workers actually started: 1 in sequential mode.</summary>
    public int Workers => ConcurrentEventHandleEnable ? Math.Max(1, MaxConcurrentEventHandlers) : 1;

    /// <summary>Whether a failed event parks the later events of its aggregate for that handler.</summary>
    public bool ParksFollowers => ConcurrentEventHandleEnable && Ordering == EventOrdering.PerAggregate;
}

/// <summary>What the pool depends on.</summary>
/// <param name="Subscriptions">Which handlers take which events.</param>
/// <param name="Types">The closed type map (for follow-up events).</param>
/// <param name="Load">Shared load figures.</param>
/// <param name="Scopes">DI scopes for handler invocations.</param>
/// <param name="DeadLetters">The durable dead-letter store.</param>
/// <param name="InvocationFilter">Wraps every handler invocation (null: none).</param>
public sealed record HandlerPoolDependencies(
    HandlerSubscriptionTable Subscriptions, MessageTypeRegistry Types, HandlerPoolLoad Load, IServiceScopeFactory Scopes, IDeadLetterStore DeadLetters,
    IHandlerInvocationFilter? InvocationFilter = null);

/// <summary>
/// A bounded pool of <see cref="HandlerWorker"/> actors. It queues work items and hands each to an idle worker
/// (never more than <see cref="HandlerPoolSettings.Workers"/> at once, across every request on the node), keeps
/// per-aggregate order when asked, runs follow-up events, retries failures with backoff without holding a
/// worker, sends what still fails to the dead-letter store, and — with per-aggregate ordering — parks the
/// later events of that aggregate for that handler until the dead letter is replayed or skipped.
/// A failing handler never stops the pool, its siblings, or other aggregates; no work item is dropped.
/// </summary>
public sealed class HandlerPool : ReceiveActor, IWithTimers
{
    private readonly HandlerPoolSettings _settings;
    private readonly HandlerPoolDependencies _deps;
    private readonly Dictionary<string, RetryOptions> _policies;
    private readonly IWorkQueue _queue;
    private readonly Queue<WorkItem> _retryReady = new();
    private readonly Stack<IActorRef> _idle = new();
    private readonly Dictionary<long, RequestProgress> _requests = new();
    private readonly Dictionary<OrderingKey, ParkedStream> _parked = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _running;
    private int _retrying;

    // Dead letters being replayed, and those this pool already replayed or skipped: a second replay (or a skip) of
    // the same entry must not run the handler's effect again while the first is running or after it succeeded.
    private readonly HashSet<long> _replaying = new();
    private readonly HashSet<long> _resolved = new();

    /// <summary>Creates the pool.</summary>
    public HandlerPool(HandlerPoolSettings settings, HandlerPoolDependencies dependencies)
    {
        _settings = settings;
        _deps = dependencies;
        _policies = dependencies.Subscriptions.Handlers.ToDictionary(h => h.Name, h => h.RetryPolicy(settings.Retry));
        _queue = settings.ParksFollowers ? new KeyedWorkQueue() : new FifoWorkQueue();
        for (var i = 0; i < settings.Workers; i++)
        {
            _idle.Push(Context.ActorOf(HandlerWorker.Props(dependencies.Scopes, dependencies.InvocationFilter), $"worker-{i + 1}"));
        }

        Receive<EnqueueWork>(Enqueue);
        Receive<WorkDone>(Done);
        Receive<RetryDue>(due =>
        {
            _retrying--;
            _retryReady.Enqueue(due.Item);
            Schedule();
        });
        Receive<DeadLetterWritten>(Written);
        Receive<DeadLetterWriteFailed>(WriteFailed);
        Receive<RetryDeadLetterWrite>(retry => WriteDeadLetter(retry.Failed.Item, retry.Failed.Failure, retry.Failed.WriteAttempt + 1));
        Receive<ReplayDeadLetterEntry>(Replay);
        Receive<SkipDeadLetterEntry>(Skip);
        Receive<ReleaseAllParked>(_ =>
        {
            var released = new List<WorkItem>();
            foreach (var key in _parked.Keys.ToArray())
            {
                released.AddRange(Release(key));
            }

            Announce(null, released);
            Schedule();
        });
        Receive<DeadLetterResolved>(Resolved);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the pool.</summary>
    public static Props Props(HandlerPoolSettings settings, HandlerPoolDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new HandlerPool(settings, dependencies));

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetterResolved));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Resume); // workers catch handler errors themselves

    private void Enqueue(EnqueueWork work)
    {
        if (work.ReplyTo is not null)
        {
            if (work.Items.Count == 0)
            {
                work.ReplyTo.Tell(new DispatchCompleted(work.RequestId, []));
                return;
            }

            _requests[work.RequestId] = new RequestProgress(work.ReplyTo, work.Items.Count);
        }

        foreach (var item in work.Items)
        {
            Admit(item, urgent: false);
        }

        Schedule();
    }

    /// <summary>Queues an item, or parks it behind a dead-lettered event of its aggregate.</summary>
    private void Admit(WorkItem item, bool urgent)
    {
        if (_settings.ParksFollowers && _parked.TryGetValue(item.Key, out var parked))
        {
            Park(parked, item);
            return;
        }

        _queue.Enqueue(item, urgent);
    }

    private void Park(ParkedStream parked, WorkItem item)
    {
        parked.Followers.Add(item with { RequestId = 0 });
        Finish(item, new HandlerOutcome(item.Handler.Name, item.Envelope.EventId, item.Envelope.EventType, HandlerStatus.Parked,
            $"Waiting behind dead letter {parked.DeadLetterId?.ToString() ?? "(being written)"} of {item.Envelope.StreamName}."));
        if (parked.DeadLetterId is { } id)
        {
            parked.AppendToStore(_deps.DeadLetters, id, item.Envelope, _log);
        }
    }

    private void Done(WorkDone done)
    {
        _running--;
        _idle.Push(Sender);
        var item = done.Item;
        if (done.Failure is { } failure)
        {
            Failed(item, failure);
        }
        else
        {
            Succeeded(item, done);
        }

        Schedule();
    }

    private void Succeeded(WorkItem item, WorkDone done)
    {
        _queue.Completed(item);
        _deps.Load.Count(succeeded: true);
        if (item.DeadLetterId is { } deadLetterId)
        {
            _replaying.Remove(deadLetterId);
            _resolved.Add(deadLetterId);
            var released = Release(item.Key);
            Announce(deadLetterId, released);
            var requester = item.ReplayRequester;
            _deps.DeadLetters.DeleteAsync(deadLetterId).ContinueWith(task =>
            {
                requester?.Tell(task.IsCompletedSuccessfully
                    ? new DeadLetterReplayed(deadLetterId, true, released.Count, null)
                    : new DeadLetterReplayed(deadLetterId, true, released.Count, $"handled, but removing the entry failed: {task.Exception?.GetBaseException().Message}"));
            }, TaskScheduler.Default);
        }

        var progress = ProgressOf(item);
        var followUps = new List<WorkItem>();
        foreach (var followUp in done.FollowUps)
        {
            FollowUp(item, followUp, progress, followUps);
        }

        // Sequential mode appends (breadth-first); parallel mode lets a follow-up start as soon as its parent is done.
        var urgent = _settings.ConcurrentEventHandleEnable;
        for (var i = 0; i < followUps.Count; i++)
        {
            Admit(followUps[urgent ? followUps.Count - 1 - i : i], urgent);
        }

        Finish(item, done.Outcome);
    }

    private void Failed(WorkItem item, HandlerFailure failure)
    {
        var policy = _policies.GetValueOrDefault(item.Handler.Name, _settings.Retry);
        var retry = item.Attempt - item.RetryBase;
        if (!failure.Permanent && retry <= policy.MaxRetries)
        {
            // The worker is free again; the key stays held so the aggregate's later events keep their place.
            var delay = policy.DelayBefore(retry);
            _retrying++;
            _deps.Load.CountRetry();
            _log.Debug("Handler {0} failed on {1} (attempt {2}): {3}; retrying in {4} ms", item.Handler.Name, item.Envelope.EventId, item.Attempt, failure, (int)delay.TotalMilliseconds);
            Timers.StartSingleTimer(new RetryTimerKey(item.Handler.Name, item.Envelope.EventId, item.Attempt),
                new RetryDue(item with { Attempt = item.Attempt + 1, FirstFailureAt = item.FirstFailureAt ?? DateTimeOffset.UtcNow }), delay);
            return;
        }

        _deps.Load.Count(succeeded: false);
        if (item.DeadLetterId is { } deadLetterId)
        {
            // A replay failed again: the entry stays (parked followers too), with its attempt count raised.
            _replaying.Remove(deadLetterId);
            var requester = item.ReplayRequester;
            _deps.DeadLetters.RecordFailureAsync(deadLetterId, failure, item.Attempt).ContinueWith(
                _ => requester?.Tell(new DeadLetterReplayed(deadLetterId, false, 0, failure.ToString())), TaskScheduler.Default);
            return;
        }

        _log.Warning("Handler {0} gave up on {1} ({2} #{3}) after {4} attempt(s): {5}. Sending it to the dead-letter store.",
            item.Handler.Name, item.Envelope.EventType, item.Envelope.StreamName, item.Envelope.SequenceNr, item.Attempt, failure);
        if (_settings.ParksFollowers)
        {
            var parked = new ParkedStream();
            _parked[item.Key] = parked;
            foreach (var follower in _queue.TakePending(item.Key))
            {
                Park(parked, follower);
            }
        }

        _queue.Completed(item);
        WriteDeadLetter(item, failure, 1);
    }

    private void WriteDeadLetter(WorkItem item, HandlerFailure failure, int writeAttempt)
    {
        var entry = new NewDeadLetter(item.Handler.Name, item.Envelope, failure, item.Attempt, item.FirstFailureAt ?? DateTimeOffset.UtcNow);
        _deps.DeadLetters.AddAsync(entry).PipeTo(Self,
            success: id => new DeadLetterWritten(item, failure, id),
            failure: error => new DeadLetterWriteFailed(item, failure, error, writeAttempt));
    }

    private void Written(DeadLetterWritten written)
    {
        var item = written.Item;
        _deps.Load.CountDeadLetter();
        if (_parked.TryGetValue(item.Key, out var parked) && parked.DeadLetterId is null)
        {
            parked.DeadLetterId = written.Id;
            foreach (var follower in parked.Followers)
            {
                parked.AppendToStore(_deps.DeadLetters, written.Id, follower.Envelope, _log);
            }
        }

        Finish(item, new HandlerOutcome(item.Handler.Name, item.Envelope.EventId, item.Envelope.EventType, HandlerStatus.DeadLettered,
            $"{written.Failure} (dead letter {written.Id})", item.Attempt));
        Schedule();
    }

    private void WriteFailed(DeadLetterWriteFailed failed)
    {
        // The store is unreachable: keep the item and try again later, never drop it.
        var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(failed.WriteAttempt, 7))));
        _log.Error(failed.Error, "Could not write the dead letter of {0} for {1} (try {2}); retrying in {3} ms",
            failed.Item.Handler.Name, failed.Item.Envelope.EventId, failed.WriteAttempt, (int)delay.TotalMilliseconds);
        Timers.StartSingleTimer(new DeadLetterWriteTimerKey(failed.Item.Handler.Name, failed.Item.Envelope.EventId), new RetryDeadLetterWrite(failed), delay);
    }

    private void Replay(ReplayDeadLetterEntry replay)
    {
        var entry = replay.Entry;
        var handler = _deps.Subscriptions.Find(entry.Handler);
        if (handler is null)
        {
            replay.Requester.Tell(new DeadLetterOperationFailed(entry.Id, $"Handler '{entry.Handler}' is not registered on this node."));
            return;
        }

        if (RefuseWhileBusy(entry.Id, replay.Requester))
        {
            return;
        }

        var item = new WorkItem(0, entry.Envelope, handler, 0)
        {
            Attempt = entry.Attempts + 1, RetryBase = entry.Attempts, FirstFailureAt = entry.FirstFailureAt, DeadLetterId = entry.Id, ReplayRequester = replay.Requester,
        };
        _replaying.Add(entry.Id);
        EnsureParked(item.Key, entry);
        _retryReady.Enqueue(item);
        Schedule();
    }

    private void Skip(SkipDeadLetterEntry skip)
    {
        var entry = skip.Entry;
        if (RefuseWhileBusy(entry.Id, skip.Requester))
        {
            return;
        }

        _resolved.Add(entry.Id);
        var handler = _deps.Subscriptions.Find(entry.Handler);
        var released = 0;
        if (handler is not null)
        {
            var key = new WorkItem(0, entry.Envelope, handler, 0).Key;
            EnsureParked(key, entry);
            var followers = Release(key);
            Announce(entry.Id, followers);
            released = followers.Count;
        }

        var requester = skip.Requester;
        _deps.DeadLetters.DeleteAsync(entry.Id).ContinueWith(task => requester.Tell(task.IsCompletedSuccessfully
            ? new DeadLetterSkipped(entry.Id, released)
            : new DeadLetterOperationFailed(entry.Id, $"Removing the entry failed: {task.Exception?.GetBaseException().Message}")), TaskScheduler.Default);
        Schedule();
    }

    /// <summary>Answers <see cref="DeadLetterOperationFailed"/> when the entry is being replayed or was already resolved here.</summary>
    private bool RefuseWhileBusy(long id, IActorRef requester)
    {
        var reason = _replaying.Contains(id) ? $"Dead letter {id} is being replayed; wait for that replay's result."
            : _resolved.Contains(id) ? $"Dead letter {id} was already replayed or skipped."
            : null;
        if (reason is not null)
        {
            requester.Tell(new DeadLetterOperationFailed(id, reason));
        }

        return reason is not null;
    }

    /// <summary>After a restart the parked stream exists only in the store: rebuild it from the entry.</summary>
    private void EnsureParked(OrderingKey key, ActorEvents.Messages.DeadLetter entry)
    {
        if (!_settings.ParksFollowers || _parked.ContainsKey(key))
        {
            return;
        }

        var parked = new ParkedStream { DeadLetterId = entry.Id };
        var handler = _deps.Subscriptions.Find(entry.Handler)!;
        parked.Followers.AddRange(entry.ParkedFollowers.Select(envelope => new WorkItem(0, envelope, handler, 0)));
        foreach (var waiting in _queue.TakePending(key))
        {
            Park(parked, waiting);
        }

        _parked[key] = parked;
    }

    /// <summary>Un-parks a key: its followers go back to the queue, in order. Returns them.</summary>
    private IReadOnlyList<WorkItem> Release(OrderingKey key)
    {
        if (!_parked.Remove(key, out var parked))
        {
            return [];
        }

        foreach (var follower in parked.Followers)
        {
            _queue.Enqueue(follower, urgent: false);
        }

        return parked.Followers;
    }

    /// <summary>
    /// Tells the node's other pools that a dead letter was resolved here (replayed, skipped; null id: purged), with
    /// the followers this pool released for it. A dead letter written by the streaming pool is replayed and skipped
    /// through the request pool (the office's), which runs the followers recorded in the entry: the pool that parked
    /// them must release its own parked stream too, without running those a second time.
    /// </summary>
    private void Announce(long? deadLetterId, IEnumerable<WorkItem> released) =>
        Context.System.EventStream.Publish(new DeadLetterResolved(Self, deadLetterId,
            released.Select(f => (f.Handler.Name, f.Envelope.EventId)).ToHashSet()));

    /// <summary>Another pool of this node resolved a dead letter: release the matching parked streams here.</summary>
    private void Resolved(DeadLetterResolved resolved)
    {
        if (resolved.Origin.Equals(Self))
        {
            return;
        }

        foreach (var (key, parked) in _parked.ToArray())
        {
            if (resolved.DeadLetterId is { } id && parked.DeadLetterId != id)
            {
                continue;
            }

            _parked.Remove(key);
            foreach (var follower in parked.Followers.Where(f => !resolved.Released.Contains((f.Handler.Name, f.Envelope.EventId))))
            {
                _queue.Enqueue(follower, urgent: false);
            }
        }

        Schedule();
    }

    private void FollowUp(WorkItem parent, IEvent followUp, RequestProgress? progress, List<WorkItem> items)
    {
        var envelope = parent.Envelope;
        if (!_deps.Types.TryGet(followUp.GetType(), out var registered))
        {
            progress?.Outcomes.Add(new HandlerOutcome(parent.Handler.Name, envelope.EventId, followUp.GetType().Name, HandlerStatus.Failed,
                $"Follow-up event '{followUp.GetType().FullName}' is not registered; it was not dispatched."));
            return;
        }

        var child = new EventEnvelope(Guid.CreateVersion7().ToString("N"), registered.Name, registered.Version, DateTimeOffset.UtcNow,
            _settings.SourceNode, envelope.AggregateType, envelope.AggregateId, 0, envelope.CorrelationId, envelope.EventId,
            envelope.StreamName, followUp);
        var depth = parent.Depth + 1;
        if (depth > _settings.MaxFollowUpDepth)
        {
            _log.Error("Follow-up cascade from {0} exceeded the depth limit {1} at '{2}' (correlation {3}); it was stopped.",
                parent.Handler.Name, _settings.MaxFollowUpDepth, registered.Name, envelope.CorrelationId);
            progress?.Outcomes.Add(new HandlerOutcome(parent.Handler.Name, child.EventId, registered.Name, HandlerStatus.Failed,
                $"Follow-up cascade exceeded the depth limit of {_settings.MaxFollowUpDepth}; '{registered.Name}' was not dispatched."));
            return;
        }

        foreach (var handler in _deps.Subscriptions.Match(child))
        {
            if (progress is not null)
            {
                progress.Outstanding++;
            }

            items.Add(new WorkItem(parent.RequestId, child, handler, depth));
        }
    }

    private RequestProgress? ProgressOf(WorkItem item) =>
        item.RequestId != 0 && _requests.TryGetValue(item.RequestId, out var progress) ? progress : null;

    /// <summary>Records an item's final outcome for its request and tells the requester when it was the last.</summary>
    private void Finish(WorkItem item, HandlerOutcome outcome)
    {
        if (ProgressOf(item) is not { } progress)
        {
            return;
        }

        progress.Outcomes.Add(outcome);
        if (--progress.Outstanding == 0)
        {
            _requests.Remove(item.RequestId);
            progress.ReplyTo.Tell(new DispatchCompleted(item.RequestId, progress.Outcomes));
        }
    }

    private void Schedule()
    {
        while (_idle.Count > 0 && _retryReady.TryDequeue(out var retry))
        {
            Run(retry);
        }

        // Sequential mode promises emission order: while an item waits for its retry, nothing overtakes it.
        while (_idle.Count > 0 && (_settings.ConcurrentEventHandleEnable || _retrying == 0) && _queue.TryDequeue(out var item))
        {
            Run(item);
        }

        _deps.Load.Set(_queue.Count + _retryReady.Count, _running);
        _deps.Load.SetParked(_parked.Values.Sum(p => p.Followers.Count), _retrying);
    }

    private void Run(WorkItem item)
    {
        _running++;
        _idle.Pop().Tell(new RunWork(item, _policies.GetValueOrDefault(item.Handler.Name, _settings.Retry)));
    }

    private sealed class RequestProgress(IActorRef replyTo, int outstanding)
    {
        public IActorRef ReplyTo { get; } = replyTo;

        public int Outstanding { get; set; } = outstanding;

        public List<HandlerOutcome> Outcomes { get; } = [];
    }

    /// <summary>The later events of one aggregate for one handler, waiting behind a dead letter.</summary>
    private sealed class ParkedStream
    {
        private Task _storeWrites = Task.CompletedTask;

        public long? DeadLetterId { get; set; }

        public List<WorkItem> Followers { get; } = [];

        /// <summary>Appends a follower to the stored entry; appends run one after another so none is lost.</summary>
        public void AppendToStore(IDeadLetterStore store, long id, EventEnvelope follower, ILoggingAdapter log) =>
            _storeWrites = _storeWrites.ContinueWith(
                _ => store.AddFollowerAsync(id, follower).ContinueWith(t =>
                {
                    if (t.IsFaulted)
                    {
                        log.Error(t.Exception, "Could not record parked follower {0} on dead letter {1}; it is still parked in memory", follower.EventId, id);
                    }
                }, TaskScheduler.Default),
                TaskScheduler.Default).Unwrap();
    }

    private sealed record RetryDue(WorkItem Item);

    private sealed record RetryTimerKey(string Handler, string EventId, int Attempt);

    private sealed record DeadLetterWriteTimerKey(string Handler, string EventId);

    private sealed record DeadLetterWritten(WorkItem Item, HandlerFailure Failure, long Id);

    private sealed record DeadLetterWriteFailed(WorkItem Item, HandlerFailure Failure, Exception Error, int WriteAttempt);

    private sealed record RetryDeadLetterWrite(DeadLetterWriteFailed Failed);
}

/// <summary>
/// Runs one (event, handler) pair at a time: a fresh DI scope and handler instance, the invocation timeout,
/// error classification, and the handler's <see cref="IHandleErrors"/> hook. Every error is caught.
/// </summary>
/// <remarks>
/// The pool gives a worker its next item only after the worker's <see cref="WorkDone"/>, so the worker needs no mailbox
/// suspension: a handler that completes synchronously is answered from the same message, without a task scheduler
/// hop or an allocated state machine; one that goes asynchronous continues on the thread pool.
/// </remarks>
public sealed class HandlerWorker : ReceiveActor
{
    private static readonly ConcurrentDictionary<Type, ObjectFactory> Factories = new();
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
            var running = RunAsync(run.Item, run.Policy);
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

    /// <summary>Creates a handler: from the scope when it is registered there, else through a cached constructor factory.</summary>
    internal static object Activate(IServiceProvider services, Type handlerType) =>
        services.GetService(handlerType)
        ?? Factories.GetOrAdd(handlerType, static type => ActivatorUtilities.CreateFactory(type, Type.EmptyTypes))(services, null);

    private async ValueTask<WorkDone> RunAsync(WorkItem item, RetryOptions policy)
    {
        var envelope = item.Envelope;
        IReadOnlyList<IEvent> followUps = [];
        HandlerFailure? failure = null;
        var scope = _scopes.CreateAsyncScope();
        using var timeout = new CancellationTokenSource(policy.InvocationTimeout);
        object? handler = null;
        EventContext? context = null;
        try
        {
            handler = Activate(scope.ServiceProvider, item.Handler.HandlerType);
            context = new EventContext(envelope, item.Handler.Name, item.Attempt, scope.ServiceProvider, timeout.Token);
            var invocation = _filter is null
                ? item.Handler.InvokeAsync(handler, envelope, context)
                : _filter.InvokeAsync(item.Handler, context, () => item.Handler.InvokeAsync(handler, envelope, context));
            // A completed invocation is awaited as is (rethrowing its exception, if any); only a pending one needs the deadline.
            await (invocation.IsCompleted ? invocation : invocation.WaitAsync(timeout.Token)).ConfigureAwait(false);

            followUps = context.FollowUps;
        }
        catch (Exception e)
        {
            // One deadline: the invocation's token. Whether the wait gave up or a handler that honours
            // context.CancellationToken threw first, it is an OperationCanceledException: the invocation timed out.
            var error = e is OperationCanceledException && timeout.IsCancellationRequested
                ? new TimeoutException($"Handler '{item.Handler.Name}' did not finish within {policy.InvocationTimeout.TotalMilliseconds:0} ms.", e)
                : e;
            failure = HandlerFailure.From(error, policy.IsPermanent(error));
            if (handler is IHandleErrors hook && context is not null)
            {
                try
                {
                    await hook.HandleErrorAsync(error, envelope, context).ConfigureAwait(false);
                }
                catch (Exception hookError)
                {
                    _log.Error(hookError, "The error hook of {0} threw while handling a failure on {1}; processing continues", item.Handler.Name, envelope.EventId);
                }
            }
        }
        finally
        {
            await scope.DisposeAsync().ConfigureAwait(false);
        }

        var outcome = new HandlerOutcome(item.Handler.Name, envelope.EventId, envelope.EventType,
            failure is null ? HandlerStatus.Succeeded : HandlerStatus.Failed, failure?.ToString(), item.Attempt);
        return new WorkDone(item, outcome, followUps, failure);
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
