using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Pipeline;

// The handler pool's scheduling: admission, the queue, completion of requests and follow-up events.
internal sealed partial class HandlerPool
{
    /// <summary>
    /// An aggregate of this node persisted events (this pool is the node's event sink): each event matched against the
    /// subscription table, the work items queued under a request id of this pool's own. A streaming request's events go
    /// on to the streaming pool.
    /// </summary>
    private void Dispatch(EventsPersisted persisted)
    {
        if (persisted.Pipeline == PipelineKind.Streaming && _settings.StreamingPool is { } streaming)
        {
            streaming.Forward(persisted);
            return;
        }

        var requestId = ++_nextRequestId;
        var items = new List<WorkItem>();
        foreach (var envelope in persisted.Events)
        {
            foreach (var handler in _deps.Subscriptions.Match(envelope))
            {
                items.Add(new WorkItem(requestId, envelope, handler, 0));
            }
        }

        // A command none of whose events has a handler is answered by Enqueue at once (the tracker answers an empty request).
        Enqueue(new EnqueueWork(requestId, items, null) { Reply = persisted.Reply });
    }

    private void Enqueue(EnqueueWork work)
    {
        if (_requests.Start(work) is { } answer)
        {
            answer.To.Tell(answer.Message);
            return;
        }

        ScheduleDeadline();
        foreach (var item in work.Items)
        {
            Counted(item);
            Admit(item, urgent: false);
        }

        Schedule();
        if (work.Reply is { AfterHandlers: false } reply)
        {
            // Answered after persist, once taken: a pressure message this work caused is at the mediator before this answer.
            reply.ReplyTo.Tell(reply.Accepted);
        }
    }

    /// <summary>An item of a request counts for its aggregate's drain until its outcome is final (<see cref="Finish"/>).</summary>
    private void Counted(WorkItem item)
    {
        if (item.RequestId != 0)
        {
            _drains.Admitted(item);
        }
    }

    private void Drain(DrainPools drain)
    {
        if (_drains.TryDrain(drain))
        {
            drain.Continue();
        }
    }

    /// <summary>Answers the requests whose deadline passed, and sets the timer for the next deadline.</summary>
    private void ExpireRequests()
    {
        _deadlineTimerAt = null;
        foreach (var answer in _requests.Expire(DateTimeOffset.UtcNow))
        {
            answer.To.Tell(answer.Message);
        }

        ScheduleDeadline();
    }

    private void ScheduleDeadline()
    {
        if (_requests.NextDeadline is not { } next || (_deadlineTimerAt is { } at && at <= next))
        {
            return;
        }

        _deadlineTimerAt = next;
        var delay = next - DateTimeOffset.UtcNow;
        Timers.StartSingleTimer(nameof(ExpireRequests), RequestDeadlineDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
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

        var followUps = new List<WorkItem>();
        foreach (var followUp in done.FollowUps)
        {
            FollowUp(item, followUp, followUps);
        }

        // Sequential mode appends (breadth-first); parallel mode lets a follow-up start as soon as its parent is done.
        var urgent = _settings.ConcurrentEventHandleEnable;
        for (var i = 0; i < followUps.Count; i++)
        {
            Admit(followUps[urgent ? followUps.Count - 1 - i : i], urgent);
        }

        Finish(item, done.Outcome);
    }

    private void FollowUp(WorkItem parent, FollowUpEvent followUp, List<WorkItem> items)
    {
        var created = _followUps.Create(parent, followUp);
        if (created.Error is { } error)
        {
            _log.Error(error);
        }

        if (created.Refusal is { } refusal)
        {
            _requests.Note(parent.RequestId, refusal);
        }

        foreach (var item in created.Items)
        {
            _requests.Expect(parent.RequestId);
            Counted(item);
            items.Add(item);
        }
    }

    /// <summary>Records an item's final outcome for its request (answering it when it was the last) and for its aggregate's drains.</summary>
    private void Finish(WorkItem item, HandlerOutcome outcome)
    {
        if (item.RequestId == 0)
        {
            return;
        }

        foreach (var drain in _drains.Ended(item))
        {
            drain.Continue();
        }

        if (_requests.Finish(item.RequestId, outcome) is { } answer)
        {
            answer.To.Tell(answer.Message);
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

        var queued = _queue.Count + _retryReady.Count;
        _deps.Load.Set(queued, _running);
        if (_settings.AdmissionLimit is { } limit && queued >= limit != _overloaded)
        {
            _overloaded = !_overloaded;
            Context.System.EventStream.Publish(new PipelinePressure(Self, _overloaded, queued, limit));
        }

        _deps.Load.SetParked(_parked.Values.Sum(p => p.Followers.Count), _retrying);
    }

    private void Run(WorkItem item)
    {
        _running++;
        _idle.Pop().Tell(new RunWork(item, _policies.GetValueOrDefault(item.Handler.Name, _settings.Retry)));
    }

    private sealed record RequestDeadlineDue
    {
        public static RequestDeadlineDue Instance { get; } = new();
    }
}
