using ActorEvents.Actors.Serialization;
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
public sealed record HandlerPoolSettings(int MaxConcurrentEventHandlers, bool ConcurrentEventHandleEnable, EventOrdering Ordering, int MaxFollowUpDepth, string SourceNode)
{
    /// <summary>Workers actually started: 1 in sequential mode.</summary>
    public int Workers => ConcurrentEventHandleEnable ? Math.Max(1, MaxConcurrentEventHandlers) : 1;
}

/// <summary>
/// A bounded pool of <see cref="HandlerWorker"/> actors. It queues work items, hands each to an idle worker
/// (never more than <see cref="HandlerPoolSettings.Workers"/> at once, across every request on the node),
/// keeps per-aggregate order when asked, runs follow-up events, and tells each requester when all of its
/// items are done. A failing handler only produces a failed outcome: it never stops the pool or its siblings.
/// </summary>
public sealed class HandlerPool : ReceiveActor
{
    private readonly HandlerPoolSettings _settings;
    private readonly HandlerSubscriptionTable _subscriptions;
    private readonly MessageTypeRegistry _types;
    private readonly HandlerPoolLoad _load;
    private readonly IWorkQueue _queue;
    private readonly Stack<IActorRef> _idle = new();
    private readonly Dictionary<long, RequestProgress> _requests = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _running;

    /// <summary>Creates the pool.</summary>
    public HandlerPool(HandlerPoolSettings settings, HandlerSubscriptionTable subscriptions, MessageTypeRegistry types,
        HandlerPoolLoad load, IServiceScopeFactory scopes)
    {
        _settings = settings;
        _subscriptions = subscriptions;
        _types = types;
        _load = load;
        _queue = settings.ConcurrentEventHandleEnable && settings.Ordering == EventOrdering.PerAggregate
            ? new KeyedWorkQueue()
            : new FifoWorkQueue();
        for (var i = 0; i < settings.Workers; i++)
        {
            _idle.Push(Context.ActorOf(HandlerWorker.Props(scopes), $"worker-{i + 1}"));
        }

        Receive<EnqueueWork>(Enqueue);
        Receive<WorkDone>(Done);
    }

    /// <summary>Props of the pool.</summary>
    public static Props Props(HandlerPoolSettings settings, HandlerSubscriptionTable subscriptions, MessageTypeRegistry types,
        HandlerPoolLoad load, IServiceScopeFactory scopes) =>
        Akka.Actor.Props.Create(() => new HandlerPool(settings, subscriptions, types, load, scopes));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Resume); // workers catch handler errors; anything else must not lose their state

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
            _queue.Enqueue(item, urgent: false);
        }

        Schedule();
    }

    private void Done(WorkDone done)
    {
        _running--;
        _idle.Push(Sender);
        _queue.Completed(done.Item);
        _load.Count(done.Outcome.Status == HandlerStatus.Succeeded);
        var progress = done.Item.RequestId != 0 && _requests.TryGetValue(done.Item.RequestId, out var p) ? p : null;
        progress?.Outcomes.Add(done.Outcome);

        var followUps = new List<WorkItem>();
        foreach (var followUp in done.FollowUps)
        {
            FollowUp(done.Item, followUp, progress, followUps);
        }

        // Sequential mode appends (breadth-first); parallel mode lets a follow-up start as soon as its parent is done.
        var urgent = _settings.ConcurrentEventHandleEnable;
        for (var i = 0; i < followUps.Count; i++)
        {
            _queue.Enqueue(followUps[urgent ? followUps.Count - 1 - i : i], urgent);
        }

        if (progress is not null && --progress.Outstanding == 0)
        {
            _requests.Remove(done.Item.RequestId);
            progress.ReplyTo.Tell(new DispatchCompleted(done.Item.RequestId, progress.Outcomes));
        }

        Schedule();
    }

    private void FollowUp(WorkItem parent, IEvent followUp, RequestProgress? progress, List<WorkItem> items)
    {
        var envelope = parent.Envelope;
        if (!_types.TryGet(followUp.GetType(), out var registered))
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

        foreach (var handler in _subscriptions.Match(child))
        {
            if (progress is not null)
            {
                progress.Outstanding++;
            }

            items.Add(new WorkItem(parent.RequestId, child, handler, depth));
        }
    }

    private void Schedule()
    {
        while (_idle.Count > 0 && _queue.TryDequeue(out var item))
        {
            _running++;
            _idle.Pop().Tell(new RunWork(item));
        }

        _load.Set(_queue.Count, _running);
    }

    private sealed class RequestProgress(IActorRef replyTo, int outstanding)
    {
        public IActorRef ReplyTo { get; } = replyTo;

        public int Outstanding { get; set; } = outstanding;

        public List<HandlerOutcome> Outcomes { get; } = [];
    }
}

/// <summary>Runs one (event, handler) pair at a time: a fresh DI scope, a fresh handler instance, and every error caught.</summary>
public sealed class HandlerWorker : ReceiveActor
{
    /// <summary>Creates the worker.</summary>
    public HandlerWorker(IServiceScopeFactory scopes)
    {
        ReceiveAsync<RunWork>(async run =>
        {
            // Captured before any await: the pool recognises the worker by the sender of WorkDone.
            var pool = Sender;
            var self = Self;
            var item = run.Item;
            var envelope = item.Envelope;
            HandlerOutcome outcome;
            IReadOnlyList<IEvent> followUps = [];
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var handler = ActivatorUtilities.GetServiceOrCreateInstance(scope.ServiceProvider, item.Handler.HandlerType);
                var context = new EventContext(envelope, item.Handler.Name, 1, scope.ServiceProvider, CancellationToken.None);
                await item.Handler.InvokeAsync(handler, envelope, context);
                followUps = context.FollowUps;
                outcome = new HandlerOutcome(item.Handler.Name, envelope.EventId, envelope.EventType, HandlerStatus.Succeeded);
            }
            catch (Exception e)
            {
                outcome = new HandlerOutcome(item.Handler.Name, envelope.EventId, envelope.EventType, HandlerStatus.Failed, $"{e.GetType().Name}: {e.Message}");
            }

            pool.Tell(new WorkDone(item, outcome, followUps), self);
        });
    }

    /// <summary>Props of a worker.</summary>
    public static Props Props(IServiceScopeFactory scopes) => Akka.Actor.Props.Create(() => new HandlerWorker(scopes));
}
