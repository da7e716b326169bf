using System.Globalization;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using DeadLetter = ActorEvents.Messages.DeadLetter;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Internal;

namespace ActorEvents.Actors.Pipeline;

/// <summary>Settings of one handler pool.</summary>
/// <param name="MaxConcurrentEventHandlers">Most (event, handler) pairs running at once.</param>
/// <param name="ConcurrentEventHandleEnable">False: one at a time, in emission order (follow-ups breadth-first).</param>
/// <param name="Ordering">Per-aggregate ordering or none (parallel mode only).</param>
/// <param name="MaxFollowUpDepth">Deepest follow-up cascade allowed.</param>
/// <param name="SourceNode">This node's address, stamped on follow-up events.</param>
/// <param name="Retry">Default retry policy of handlers.</param>
/// <param name="ParkingRefreshInterval">How often the pool reads the open dead letters of its handlers (see <see cref="PipelineOptions.ParkingRefreshInterval"/>).</param>
public sealed record HandlerPoolSettings(int MaxConcurrentEventHandlers, bool ConcurrentEventHandleEnable, EventOrdering Ordering, int MaxFollowUpDepth,
    string SourceNode, RetryOptions Retry, TimeSpan ParkingRefreshInterval)
{
    /// <summary>
    /// True for a subscription's pool: a parked follower finishes its request (the batch) only once it is recorded on
    /// the stored dead letter, or once it ran here — so the checkpoint never passes a follower that only memory holds.
    /// False (a request pool): the reply reports it parked at once (in-request delivery is at-most-once anyway).
    /// </summary>
    public bool ParkedFinishOnceRecorded { get; init; }

    /// <summary>A pool of <paramref name="maxConcurrent"/> workers (or one, when not <paramref name="concurrent"/>) under the node's pipeline options.</summary>
    public static HandlerPoolSettings Of(PipelineOptions pipeline, int maxConcurrent, bool concurrent, string node) =>
        new(maxConcurrent, concurrent, pipeline.Ordering, pipeline.MaxFollowUpDepth, node, pipeline.Retry, pipeline.ParkingRefreshInterval);

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
/// later events of that aggregate for that handler until the dead letter is replayed, skipped or purged.
/// A failing handler never stops the pool, its siblings, or other aggregates; no work item is dropped.
/// </summary>
/// <remarks>
/// <para>Parking is driven by the shared dead-letter store, so that it holds across restarts and nodes. Before it
/// takes any work, a parking pool reads the open entries of its handlers (retrying while the store cannot be read;
/// work waits meanwhile) and parks their aggregates; it reads them again every
/// <see cref="HandlerPoolSettings.ParkingRefreshInterval"/> to park the aggregates of entries written elsewhere and to
/// release the streams whose entry is gone. Every follower a pool parks is appended to the entry.</para>
/// <para>Who runs a follower, so that none runs twice and none is lost: whoever resolves an entry (a successful
/// replay, a skip, a purge — on any node, or the <c>dlq</c> command) takes it from the store in one step
/// (<see cref="IDeadLetterStore.TakeAsync"/>) and owns the followers recorded on it; the store serializes appends and
/// takes, so an append after the take is refused. On the taker's node, the followers a pool holds stay that pool's to
/// run, in its own order (<see cref="ParkingLedger"/>); the taker runs the others. A pool on another node runs only
/// the followers the entry did not record (refused, or the store failed), once it learns at a refresh that the entry
/// is gone and once its own appends to the entry have finished. Resolutions on this node are announced
/// (<see cref="DeadLetterResolved"/>), so its pools release at once.</para>
/// </remarks>
public sealed class HandlerPool : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly HandlerPoolSettings _settings;
    private readonly HandlerPoolDependencies _deps;
    private readonly Dictionary<string, RetryOptions> _policies;
    private readonly IWorkQueue _queue;
    private readonly Queue<WorkItem> _retryReady = new();
    private readonly Stack<IActorRef> _idle = new();
    private readonly HashSet<IActorRef> _abandonedWorkers = [];
    private int _workerGeneration;
    private readonly Dictionary<long, RequestProgress> _requests = new();
    private readonly Dictionary<OrderingKey, ParkedStream> _parked = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ParkingLedger _ledger = ParkingLedger.Of(Context.System);
    private int _running;
    private int _retrying;

    // Dead letters this pool is replaying or taking, and those known to be resolved (here, by another pool of the
    // node, or found gone from the store): a second replay (or a skip) of the same entry must not run the handler's
    // effect again while the first is running or after it succeeded, and a resolved entry never parks again.
    private readonly HashSet<long> _replaying = new();
    private readonly HashSet<long> _resolved = new();

    // Raised whenever a parked stream learns its entry's id, and when a refresh starts: a refresh judges only the
    // streams whose id was known before it read the store.
    private long _epoch;
    private bool _refreshing;

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

        if (settings.ParksFollowers)
        {
            Become(Loading);
        }
        else
        {
            Ready();
        }
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props of the pool.</summary>
    public static Props Props(HandlerPoolSettings settings, HandlerPoolDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new HandlerPool(settings, dependencies));

    /// <inheritdoc />
    protected override void PreStart()
    {
        // A subscription's pool is named "handlers" under its subscription: the gauges name it after the subscription.
        var pool = Self.Path.Name == "handlers" ? Self.Path.Parent.Name : Self.Path.Name;
        TelemetryBoard.PublishPool(Self.Path.ToStringWithUid(), pool, _settings.SourceNode, _deps.Load);
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetterResolved));
        if (_settings.ParksFollowers)
        {
            RefreshOpenEntries();
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        TelemetryBoard.RemovePool(Self.Path.ToStringWithUid());
        Context.System.EventStream.Unsubscribe(Self);
        foreach (var id in _parked.Values.Select(p => p.DeadLetterId).OfType<long>())
        {
            _ledger.Release(id, Self); // a take on this node must not leave followers to a pool that is gone
        }
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Resume); // workers catch handler errors themselves

    /// <summary>Until the open dead letters of its handlers are read, the pool keeps every message for later.</summary>
    private void Loading()
    {
        Receive<OpenEntriesRead>(read =>
        {
            Refreshed(read);
            Timers.StartPeriodicTimer(nameof(RefreshOpenEntries), new RefreshDue(), _settings.ParkingRefreshInterval);
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<OpenEntriesFailed>(failed =>
        {
            _refreshing = false;
            var delay = TimeSpan.FromTicks(Math.Min(_settings.ParkingRefreshInterval.Ticks, TimeSpan.FromSeconds(1).Ticks));
            _log.Error(failed.Error, "Could not read the open dead letters of this pool's handlers; work waits, retrying in {0} ms", (int)delay.TotalMilliseconds);
            Timers.StartSingleTimer(nameof(RefreshOpenEntries), new RefreshDue(), delay);
        });
        Receive<RefreshDue>(_ => RefreshOpenEntries());
        ReceiveAny(_ => Stash.Stash());
    }

    private void Ready()
    {
        Receive<EnqueueWork>(Enqueue);
        Receive<WorkDone>(Done);
        Receive<WorkerAbandoned>(Abandoned);
        Receive<RetryDue>(due =>
        {
            _retrying--;
            _retryReady.Enqueue(due.Item);
            Schedule();
        });
        Receive<DeadLetterWritten>(Written);
        Receive<DeadLetterWriteFailed>(WriteFailed);
        Receive<RetryDeadLetterWrite>(retry => WriteDeadLetter(retry.Failed.Item, retry.Failed.Failure, retry.Failed.WriteAttempt + 1));
        Receive<FollowerRecorded>(Recorded);
        Receive<RecordAgain>(RecordFollowerAgain);
        Receive<ReplayDeadLetterEntry>(Replay);
        Receive<SkipDeadLetterEntry>(Skip);
        Receive<DeadLetterTaken>(Taken);
        Receive<ReleaseAllParked>(Purged);
        Receive<DeadLetterResolved>(resolved =>
        {
            if (!resolved.Origin.Equals(Self))
            {
                ResolvedElsewhere(resolved.DeadLetterIds);
            }
        });
        Receive<RefreshDue>(_ => RefreshOpenEntries());
        Receive<OpenEntriesRead>(Refreshed);
        Receive<OpenEntriesFailed>(failed =>
        {
            _refreshing = false;
            _log.Warning("Could not read the open dead letters of this pool's handlers ({0}); trying again at the next refresh", failed.Error.Message);
        });
    }

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

    /// <summary>
    /// Parks an item behind its stream's dead letter. In a subscription's pool its request (the batch) counts it as
    /// finished only once it is recorded on the stored entry, so a checkpoint never passes a follower that only this
    /// node's memory holds; until then — while the entry is being written, or when the entry turns out to be gone and the
    /// follower runs here — it stays outstanding (<see cref="HandlerPoolSettings.ParkedFinishOnceRecorded"/>).
    /// </summary>
    private void Park(ParkedStream parked, WorkItem item)
    {
        var follower = new ParkedFollower(_settings.ParkedFinishOnceRecorded ? item : item with { RequestId = 0 });
        parked.Followers.Add(follower);
        if (!_settings.ParkedFinishOnceRecorded)
        {
            FinishParked(item, parked);
        }

        if (parked.DeadLetterId is { } id && !parked.Gone)
        {
            Record(parked, id, follower);
        }
    }

    private void FinishParked(WorkItem item, ParkedStream parked) =>
        Finish(item, new HandlerOutcome(item.Handler.Name, item.Envelope.EventId, item.Envelope.EventType, HandlerStatus.Parked,
            $"Waiting behind dead letter {parked.DeadLetterId?.ToString(CultureInfo.InvariantCulture) ?? "(being written)"} of {item.Envelope.StreamName}."));

    /// <summary>
    /// Holds a follower in the node's ledger and appends it to the stored entry; appends of one stream run one after
    /// another, so they keep their order.
    /// </summary>
    private void Record(ParkedStream parked, long id, ParkedFollower follower)
    {
        _ledger.Hold(id, follower.Item.Envelope.EventId, Self);
        var self = Self;
        var store = _deps.DeadLetters;
        parked.PendingAppends++;
        parked.StoreWrites = parked.StoreWrites
            .ContinueWith(_ => store.AddFollowerAsync(id, follower.Item.Envelope), TaskScheduler.Default).Unwrap()
            .ContinueWith(t => self.Tell(new FollowerRecorded(parked, follower, t.IsCompletedSuccessfully && t.Result, t.Exception?.GetBaseException())),
                TaskScheduler.Default);
    }

    private void Recorded(FollowerRecorded recorded)
    {
        var parked = recorded.Stream;
        var follower = recorded.Follower;
        parked.PendingAppends--;
        follower.Recorded = recorded.Stored;
        if (recorded.Stored)
        {
            // In the store now: whoever takes the entry runs it; its request may go on.
            var item = follower.Item;
            follower.Item = item with { RequestId = 0, FollowerOf = null };
            FollowerDone(item);
            FinishParked(item, parked);
        }
        else if (recorded.Error is { } error && parked.DeadLetterId is { } id)
        {
            var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(follower.RecordAttempts++, 7))));
            _log.Error(error, "Could not record parked follower {0} on dead letter {1}; trying again in {2} ms (its request waits; it runs here if the entry is resolved first)",
                follower.Item.Envelope.EventId, id, (int)delay.TotalMilliseconds);
            Timers.StartSingleTimer(new RecordTimerKey(follower.Item.Envelope.EventId, follower.Item.Handler.Name), new RecordAgain(parked, follower), delay);
        }

        TryRelease(parked);
    }

    private void RecordFollowerAgain(RecordAgain again)
    {
        var parked = again.Stream;
        if (!parked.Gone && parked.DeadLetterId is { } id && _parked.TryGetValue(parked.Key, out var current) && ReferenceEquals(current, parked)
            && parked.Followers.Contains(again.Follower))
        {
            Record(parked, id, again.Follower);
        }
    }

    /// <summary>
    /// A worker's invocation outlived its timeout and goes on: a new worker takes its slot, the item stays in progress (its
    /// key blocked, no retry) until the old worker reports it really ended.
    /// </summary>
    private void Abandoned(WorkerAbandoned abandoned)
    {
        _abandonedWorkers.Add(Sender);
        _running--;
        _deps.Load.CountAbandoned();
        _log.Warning("Handler {0} did not stop at its invocation timeout on {1} ({2} #{3}); its worker is abandoned and replaced, "
            + "and the event is retried only once the invocation really ended.",
            abandoned.Item.Handler.Name, abandoned.Item.Envelope.EventType, abandoned.Item.Envelope.StreamName, abandoned.Item.Envelope.SequenceNr);
        _idle.Push(Context.ActorOf(HandlerWorker.Props(_deps.Scopes, _deps.InvocationFilter), $"worker-{++_workerGeneration}-r"));
        Schedule();
    }

    private void Done(WorkDone done)
    {
        if (_abandonedWorkers.Remove(Sender))
        {
            Context.Stop(Sender); // its slot was given to a replacement
        }
        else
        {
            _running--;
            _idle.Push(Sender);
        }

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
        FollowerDone(item);
        if (item.DeadLetterId is { } deadLetterId)
        {
            Take(deadLetterId, item.Handler, item.ReplayRequester, replayed: true);
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
            ActorEventsTelemetry.HandlerRetryCounter.Add(1, new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Handler, item.Handler.Name));
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

        // An item that was already running when its key parked behind another dead letter leaves the followers there.
        if (_settings.ParksFollowers && !_parked.ContainsKey(item.Key))
        {
            var parked = new ParkedStream(item.Key);
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
        ActorEventsTelemetry.DeadLetteredCounter.Add(1, new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Handler, item.Handler.Name));
        FollowerDone(item);
        if (_parked.TryGetValue(item.Key, out var parked) && parked.DeadLetterId is null)
        {
            Identify(parked, written.Id);
            if (_resolved.Contains(written.Id))
            {
                EntryGone(parked);
            }
            else
            {
                foreach (var follower in parked.Followers)
                {
                    Record(parked, written.Id, follower);
                }
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
        if (Resolvable(entry, replay.Requester) is not { } handler)
        {
            return;
        }

        if (entry.Envelope.Event is UndecodableEvent undecodable)
        {
            // Replaying needs the event: the entry stays until its type is registered again (or it is skipped).
            _replaying.Remove(entry.Id);
            replay.Requester.Tell(new DeadLetterReplayed(entry.Id, false, 0,
                $"The event still cannot be decoded ('{undecodable.TypeName}': {undecodable.Reason}); register its type again, or skip it."));
            return;
        }

        if (!_deps.Subscriptions.Match(entry.Envelope).Contains(handler))
        {
            // Dead-lettered while it could not be decoded, and now decoded it is no event of this handler: nothing to run.
            ParkBehind(new WorkItem(0, entry.Envelope, handler, 0).Key, entry.Id);
            Take(entry.Id, handler, replay.Requester, replayed: true);
            return;
        }

        var item = new WorkItem(0, entry.Envelope, handler, 0)
        {
            Attempt = entry.Attempts + 1, RetryBase = entry.Attempts, FirstFailureAt = entry.FirstFailureAt, DeadLetterId = entry.Id, ReplayRequester = replay.Requester,
        };
        ParkBehind(item.Key, entry.Id);
        _retryReady.Enqueue(item);
        Schedule();
    }

    private void Skip(SkipDeadLetterEntry skip)
    {
        var entry = skip.Entry;
        if (Resolvable(entry, skip.Requester) is not { } handler)
        {
            return;
        }

        ParkBehind(new WorkItem(0, entry.Envelope, handler, 0).Key, entry.Id);
        Take(entry.Id, handler, skip.Requester, replayed: false);
    }

    /// <summary>
    /// The entry's handler when this pool may replay or skip it now (and marks it as being resolved); otherwise answers
    /// <see cref="DeadLetterOperationFailed"/>: the handler is not registered here (nobody here could run the entry's
    /// followers), or the entry is being replayed or was already resolved here.
    /// </summary>
    private HandlerDescriptor? Resolvable(DeadLetter entry, IActorRef requester)
    {
        var handler = _deps.Subscriptions.Find(entry.Handler);
        var reason = handler is null ? $"Handler '{entry.Handler}' is not registered on this node."
            : _replaying.Contains(entry.Id) ? $"Dead letter {entry.Id} is being replayed; wait for that replay's result."
            : _resolved.Contains(entry.Id) ? $"Dead letter {entry.Id} was already replayed or skipped."
            : null;
        if (reason is not null)
        {
            requester.Tell(new DeadLetterOperationFailed(entry.Id, reason));
            return null;
        }

        _replaying.Add(entry.Id);
        return handler;
    }

    /// <summary>Takes a replayed or skipped entry from the store: its recorded followers are this pool's to run.</summary>
    private void Take(long id, HandlerDescriptor handler, IActorRef? requester, bool replayed) =>
        _deps.DeadLetters.TakeAsync(id).PipeTo(Self,
            success: entry => new DeadLetterTaken(id, handler, requester, replayed, entry, null),
            failure: error => new DeadLetterTaken(id, handler, requester, replayed, null, error));

    private void Taken(DeadLetterTaken taken)
    {
        var id = taken.Id;
        _replaying.Remove(id);
        if (taken.Error is { } error)
        {
            // The entry stays, and its followers stay parked: skipping it later releases them.
            var message = $"removing the entry failed: {error.GetBaseException().Message}";
            taken.Requester?.Tell(taken.Replayed
                ? new DeadLetterReplayed(id, true, 0, $"handled, but {message}; skip it to release its parked followers")
                : new DeadLetterOperationFailed(id, $"Skipping failed, {message}"));
            return;
        }

        if (taken.Entry is null && !taken.Replayed)
        {
            taken.Requester?.Tell(new DeadLetterOperationFailed(id, $"There is no dead letter with id {id}."));
            return;
        }

        var recorded = taken.Entry?.ParkedFollowers ?? [];
        TakeOver(id, recorded, taken.Handler);
        var recordedIds = recorded.Select(f => f.EventId).ToHashSet();
        var released = recorded.Count + _parked.Values.Where(p => p.DeadLetterId == id)
            .Sum(p => p.Followers.Count(f => !recordedIds.Contains(f.Item.Envelope.EventId)));
        Resolve([id]);
        Announce([id]);
        taken.Requester?.Tell(taken.Replayed
            ? new DeadLetterReplayed(id, true, released, taken.Entry is null ? "handled, but the entry had already been removed elsewhere" : null)
            : new DeadLetterSkipped(id, released));
        Schedule();
    }

    /// <summary>Every dead letter of this pool's handlers was purged (taken): run their recorded followers, release the rest.</summary>
    private void Purged(ReleaseAllParked purge)
    {
        foreach (var entry in purge.Purged)
        {
            if (_deps.Subscriptions.Find(entry.Handler) is { } handler)
            {
                TakeOver(entry.Id, entry.ParkedFollowers, handler);
            }
            else if (entry.ParkedFollowers.Count > 0)
            {
                _log.Warning("Purged dead letter {0} of handler {1}, which is not registered here: its {2} parked follower(s) are not run",
                    entry.Id, entry.Handler, entry.ParkedFollowers.Count);
            }
        }

        var ids = purge.Purged.Select(e => e.Id).ToArray();
        Resolve(ids);
        Announce(ids);
        Schedule();
    }

    /// <summary>
    /// This pool took an entry: queues, in the entry's order, its recorded followers that no other pool of this node
    /// holds (this pool's own included); its own stream behind the entry will add only what the entry did not record.
    /// </summary>
    private void TakeOver(long deadLetterId, IReadOnlyList<EventEnvelope> recorded, HandlerDescriptor handler)
    {
        foreach (var parked in _parked.Values.Where(p => p.DeadLetterId == deadLetterId))
        {
            parked.TakenBySelf = true;
        }

        foreach (var follower in _ledger.TakeHere(deadLetterId, recorded, Self))
        {
            _queue.Enqueue(new WorkItem(0, follower, handler, 0) { FollowerOf = deadLetterId }, urgent: false);
        }
    }

    /// <summary>Another pool of this node resolved these dead letters.</summary>
    private void ResolvedElsewhere(IEnumerable<long> ids)
    {
        Resolve(ids);
        Schedule();
    }

    /// <summary>The entries are gone from the store: the streams parked behind them release what they hold that was not recorded.</summary>
    private void Resolve(IEnumerable<long> ids)
    {
        var gone = ids.ToHashSet();
        _resolved.UnionWith(gone);
        foreach (var parked in _parked.Values.Where(p => p.DeadLetterId is { } id && gone.Contains(id)).ToArray())
        {
            EntryGone(parked);
        }
    }

    private void EntryGone(ParkedStream parked)
    {
        parked.Gone = true;
        TryRelease(parked);
    }

    /// <summary>
    /// Once its entry is gone and its appends have finished, a stream leaves the parked set and its followers go back to
    /// the queue, in order: all of them when another pool of this node took the entry, else those the entry did not
    /// record (the recorded ones are run by whoever took it).
    /// </summary>
    private void TryRelease(ParkedStream parked)
    {
        if (!parked.Gone || parked.PendingAppends > 0 || !_parked.Remove(parked.Key, out var current))
        {
            return;
        }

        if (!ReferenceEquals(current, parked))
        {
            _parked[parked.Key] = current;
            return;
        }

        var leftToUs = _ledger.Release(parked.DeadLetterId!.Value, Self) && !parked.TakenBySelf;
        foreach (var follower in parked.Followers.Where(f => leftToUs || !f.Recorded))
        {
            // A recorded one run here for the node's taker is one of the taken entry's followers.
            _queue.Enqueue(follower.Recorded ? follower.Item with { FollowerOf = parked.DeadLetterId } : follower.Item, urgent: false);
        }

        Schedule();
    }

    /// <summary>Parks a key behind an open dead letter, with the items waiting under it (unless it is parked already).</summary>
    private void ParkBehind(OrderingKey key, long deadLetterId)
    {
        if (!_settings.ParksFollowers || _parked.ContainsKey(key))
        {
            return;
        }

        var parked = new ParkedStream(key);
        Identify(parked, deadLetterId);
        _parked[key] = parked;
        foreach (var waiting in _queue.TakePending(key))
        {
            Park(parked, waiting);
        }
    }

    private void Identify(ParkedStream parked, long deadLetterId)
    {
        parked.DeadLetterId = deadLetterId;
        parked.KnownSince = ++_epoch;
    }

    /// <summary>A follower of a taken entry finished: the store drops it from the entry (and the entry with its last one).</summary>
    private void FollowerDone(WorkItem item)
    {
        if (item.FollowerOf is not { } id)
        {
            return;
        }

        var log = _log;
        var eventId = item.Envelope.EventId;
        _deps.DeadLetters.FollowerDoneAsync(id, eventId).ContinueWith(t =>
        {
            if (t.IsFaulted)
            {
                // The entry keeps it: when the lease runs out, a pool of the handler runs it again (at least once).
                log.Warning("Could not report follower {0} of dead letter {1} done ({2})", eventId, id, t.Exception?.GetBaseException().Message);
            }
        }, TaskScheduler.Default);
    }

    private void RefreshOpenEntries()
    {
        if (_refreshing)
        {
            return;
        }

        _refreshing = true;
        var since = ++_epoch;
        var store = _deps.DeadLetters;
        var handlers = _policies.Keys.ToArray();
        ReadAsync().PipeTo(Self, failure: error => new OpenEntriesFailed(error));
        return;

        async Task<object> ReadAsync()
        {
            var keys = await store.OpenKeysAsync(handlers).ConfigureAwait(false);
            var stale = await store.ClaimStaleResolutionsAsync(handlers).ConfigureAwait(false);
            return new OpenEntriesRead(since, keys, stale);
        }
    }

    /// <summary>
    /// The store's open entries of this pool's handlers: streams whose entry is gone (and was known before the read)
    /// are released; aggregates with an entry this pool does not park yet are parked (the oldest entry of a key wins).
    /// </summary>
    private void Refreshed(OpenEntriesRead read)
    {
        _refreshing = false;
        foreach (var stale in read.StaleResolutions)
        {
            if (_deps.Subscriptions.Find(stale.Handler) is { } handler)
            {
                // Its resolver stopped before reporting every follower done: they run here (those it did run, again).
                _log.Warning("Resuming dead letter {0} of {1}: its resolver's lease ran out with {2} follower(s) not reported done; running them here",
                    stale.Id, stale.Handler, stale.ParkedFollowers.Count);
                TakeOver(stale.Id, stale.ParkedFollowers, handler);
            }
        }

        var open = read.Entries.Select(e => e.Id).ToHashSet();
        var gone = _parked.Values
            .Where(p => p.DeadLetterId is { } id && p.KnownSince < read.Since && !open.Contains(id) && !_replaying.Contains(id))
            .Select(p => p.DeadLetterId!.Value).ToArray();
        Resolve(gone);
        foreach (var entry in read.Entries.Where(e => !_resolved.Contains(e.Id)))
        {
            ParkBehind(new OrderingKey(entry.Handler, entry.AggregateType, entry.AggregateId), entry.Id);
        }

        Schedule();
    }

    /// <summary>
    /// Tells the node's other pools that dead letters were resolved here (replayed, skipped or purged): the streams they
    /// parked behind them release at once, without waiting for their next refresh.
    /// </summary>
    private void Announce(long[] deadLetterIds)
    {
        if (deadLetterIds.Length > 0)
        {
            Context.System.EventStream.Publish(new DeadLetterResolved(Self, deadLetterIds));
        }
    }

    private void FollowUp(WorkItem parent, FollowUpEvent followUp, RequestProgress? progress, List<WorkItem> items)
    {
        var envelope = parent.Envelope;
        var type = followUp.Event.GetType();
        if (!_deps.Types.TryGet(type, out var registered))
        {
            progress?.Outcomes.Add(new HandlerOutcome(parent.Handler.Name, envelope.EventId, type.Name, HandlerStatus.Failed,
                $"Follow-up event '{type.FullName}' is not registered; it was not dispatched."));
            return;
        }

        var child = new EventEnvelope(followUp.EventId, registered.Name, registered.Version, followUp.EmittedAt,
            _settings.SourceNode, envelope.AggregateType, envelope.AggregateId, 0, envelope.CorrelationId, envelope.EventId,
            envelope.StreamName, followUp.Event) { TraceParent = followUp.TraceParent ?? envelope.TraceParent };
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
    private sealed class ParkedStream(OrderingKey key)
    {
        public OrderingKey Key { get; } = key;

        /// <summary>Null while the dead letter is being written.</summary>
        public long? DeadLetterId { get; set; }

        /// <summary>The pool's epoch when <see cref="DeadLetterId"/> became known.</summary>
        public long KnownSince { get; set; }

        public List<ParkedFollower> Followers { get; } = [];

        /// <summary>Appends to the entry not answered yet.</summary>
        public int PendingAppends { get; set; }

        /// <summary>The entry was resolved: release once the appends are answered.</summary>
        public bool Gone { get; set; }

        /// <summary>This pool took the entry, and runs its recorded followers from there.</summary>
        public bool TakenBySelf { get; set; }

        /// <summary>The appends, one after another, so that the entry keeps the followers' order.</summary>
        public Task StoreWrites { get; set; } = Task.CompletedTask;
    }

    /// <summary>A parked item (with its request until it is recorded), and whether it was recorded on the entry (then whoever takes the entry runs it).</summary>
    private sealed class ParkedFollower(WorkItem item)
    {
        public WorkItem Item { get; set; } = item;

        public bool Recorded { get; set; }

        /// <summary>Failed appends so far (the backoff of the next).</summary>
        public int RecordAttempts { get; set; }
    }

    private sealed record RecordAgain(ParkedStream Stream, ParkedFollower Follower);

    private sealed record RecordTimerKey(string EventId, string Handler);

    private sealed record RetryDue(WorkItem Item);

    private sealed record RetryTimerKey(string Handler, string EventId, int Attempt);

    private sealed record DeadLetterWriteTimerKey(string Handler, string EventId);

    private sealed record DeadLetterWritten(WorkItem Item, HandlerFailure Failure, long Id);

    private sealed record DeadLetterWriteFailed(WorkItem Item, HandlerFailure Failure, Exception Error, int WriteAttempt);

    private sealed record RetryDeadLetterWrite(DeadLetterWriteFailed Failed);

    private sealed record FollowerRecorded(ParkedStream Stream, ParkedFollower Follower, bool Stored, Exception? Error);

    private sealed record DeadLetterTaken(long Id, HandlerDescriptor Handler, IActorRef? Requester, bool Replayed, DeadLetter? Entry, Exception? Error);

    private sealed record RefreshDue;

    private sealed record OpenEntriesRead(long Since, IReadOnlyList<DeadLetterKey> Entries, IReadOnlyList<DeadLetter> StaleResolutions);

    private sealed record OpenEntriesFailed(Exception Error);
}

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
public sealed class HandlerWorker : ReceiveActor
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
        using var timeout = new CancellationTokenSource(policy.InvocationTimeout);
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
            await (invocation.IsCompleted ? invocation : invocation.WaitAsync(timeout.Token)).ConfigureAwait(false);
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
        run.Finish(failure);
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
