using System.Globalization;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Pipeline;

// The handler pool's parking: the later events of an aggregate held behind its dead letter, recorded on the entry, released when it is resolved.
internal sealed partial class HandlerPool
{
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
        _parking.Tell(new HoldFollower(id, follower.Item.Envelope.EventId));
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
            var delay = StoreWriteBackoff.After(follower.RecordAttempts++);
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

    private void EntryGone(ParkedStream parked)
    {
        parked.Gone = true;
        TryRelease(parked);
    }

    /// <summary>
    /// Once its entry is gone and its appends have finished, a stream is released: the pool asks the node's coordinator
    /// whether a pool here took the entry, and keeps parking what arrives for the stream until it answers
    /// (<see cref="Released"/>).
    /// </summary>
    private void TryRelease(ParkedStream parked)
    {
        if (!parked.Gone || parked.PendingAppends > 0 || parked.Releasing
            || !_parked.TryGetValue(parked.Key, out var current) || !ReferenceEquals(current, parked))
        {
            return;
        }

        parked.Releasing = true;
        _parking.Tell(new ReleaseStream(parked.Key, parked.DeadLetterId!.Value));
    }

    /// <summary>
    /// The coordinator answered a release: the stream leaves the parked set and its followers go back to the queue, in
    /// order — all of them when another pool of this node took the entry, else those the entry did not record (the
    /// recorded ones are run by whoever took it).
    /// </summary>
    private void Released(StreamReleased released)
    {
        if (!_parked.TryGetValue(released.Key, out var parked) || !parked.Releasing || parked.DeadLetterId != released.DeadLetterId)
        {
            return;
        }

        _parked.Remove(released.Key);
        foreach (var taken in parked.TakenFollowers)
        {
            _queue.Enqueue(taken, urgent: false);
        }

        var leftToUs = released.TakenHere && !parked.TakenBySelf;
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

        /// <summary>Asked the coordinator to release it; what arrives meanwhile stays parked behind it.</summary>
        public bool Releasing { get; set; }

        /// <summary>The taken entry's recorded followers this pool runs, queued first when the stream is released.</summary>
        public List<WorkItem> TakenFollowers { get; } = [];

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

    private sealed record FollowerRecorded(ParkedStream Stream, ParkedFollower Follower, bool Stored, Exception? Error);
}
