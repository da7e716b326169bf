using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Pipeline;

// The handler pool's scheduling: admission, the queue, completion of requests and follow-up events.
public sealed partial class HandlerPool
{
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
}
