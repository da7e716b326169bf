using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Pipeline;

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
/// is gone and once its own appends to the entry have finished. Who holds what on this node is the node's
/// <see cref="ParkingCoordinator"/>'s to know (an actor: pools tell it, and ask it when they take and release); it
/// passes this node's resolutions on to the other pools (<see cref="DeadLetterResolved"/>), so they release at once.</para>
/// </remarks>
internal sealed partial class HandlerPool : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly HandlerPoolSettings _settings;
    private readonly HandlerPoolDependencies _deps;
    private readonly Dictionary<string, RetryOptions> _policies;
    private readonly IWorkQueue _queue;
    private readonly Queue<WorkItem> _retryReady = new();
    private readonly Stack<IActorRef> _idle = new();
    private readonly HashSet<IActorRef> _abandonedWorkers = [];
    private int _workerGeneration;
    private readonly RequestTracker _requests = new();
    private long _nextRequestId;
    private readonly FollowUpDispatch _followUps;
    private readonly AggregateDrains _drains = new();
    private DateTimeOffset? _deadlineTimerAt;
    private bool _overloaded;
    private readonly Dictionary<OrderingKey, ParkedStream> _parked = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _parking = ParkingCoordinator.Of(Context.System);
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
        _followUps = new FollowUpDispatch(dependencies.Types, dependencies.Subscriptions, settings.SourceNode, settings.MaxFollowUpDepth);
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
        _parking.Tell(JoinParking.Instance);
        if (_settings.ParksFollowers)
        {
            RefreshOpenEntries();
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        TelemetryBoard.RemovePool(Self.Path.ToStringWithUid()); // the coordinator watches the pool: what it held is released there
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
        Receive<EventsPersisted>(Dispatch);
        Receive<DrainAggregate>(drain => Drain(new DrainPools(drain, _settings.StreamingPool is { } streaming ? [streaming] : [])));
        Receive<DrainPools>(Drain);
        Receive<RequestDeadlineDue>(_ => ExpireRequests());
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
        Receive<DeadLetterResolved>(resolved => ResolvedElsewhere(resolved.DeadLetterIds));
        Receive<TakenHere>(RunTaken);
        Receive<StreamReleased>(Released);
        Receive<RefreshDue>(_ => RefreshOpenEntries());
        Receive<OpenEntriesRead>(Refreshed);
        Receive<OpenEntriesFailed>(failed =>
        {
            _refreshing = false;
            _log.Warning("Could not read the open dead letters of this pool's handlers ({0}); trying again at the next refresh", failed.Error.Message);
        });
    }
}
