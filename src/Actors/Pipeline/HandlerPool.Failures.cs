using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Pipeline;

// The handler pool's failures: retries with backoff, abandoned workers, the dead-letter write and its retries.
internal sealed partial class HandlerPool
{
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
        var delay = StoreWriteBackoff.After(failed.WriteAttempt);
        _log.Error(failed.Error, "Could not write the dead letter of {0} for {1} (try {2}); retrying in {3} ms",
            failed.Item.Handler.Name, failed.Item.Envelope.EventId, failed.WriteAttempt, (int)delay.TotalMilliseconds);
        Timers.StartSingleTimer(new DeadLetterWriteTimerKey(failed.Item.Handler.Name, failed.Item.Envelope.EventId), new RetryDeadLetterWrite(failed), delay);
    }

    private sealed record RetryDue(WorkItem Item);

    private sealed record RetryTimerKey(string Handler, string EventId, int Attempt);

    private sealed record DeadLetterWriteTimerKey(string Handler, string EventId);

    private sealed record DeadLetterWritten(WorkItem Item, HandlerFailure Failure, long Id);

    private sealed record DeadLetterWriteFailed(WorkItem Item, HandlerFailure Failure, Exception Error, int WriteAttempt);

    private sealed record RetryDeadLetterWrite(DeadLetterWriteFailed Failed);
}
