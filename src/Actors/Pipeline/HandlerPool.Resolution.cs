using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using DeadLetter = ActorEvents.Messages.DeadLetter;

namespace ActorEvents.Actors.Pipeline;

// The handler pool's resolution: replay, skip and purge of dead letters, the periodic read of the open entries, announcements (through the node's parking coordinator) to its other pools.
internal sealed partial class HandlerPool
{
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
    /// This pool took an entry: asks the node's coordinator which of its recorded followers no other pool of this node
    /// holds (this pool's own included), and queues those when it answers (<see cref="RunTaken"/>); its own stream behind
    /// the entry, released after that answer, adds only what the entry did not record.
    /// </summary>
    private void TakeOver(long deadLetterId, IReadOnlyList<EventEnvelope> recorded, HandlerDescriptor handler)
    {
        foreach (var parked in _parked.Values.Where(p => p.DeadLetterId == deadLetterId))
        {
            parked.TakenBySelf = true;
        }

        _parking.Tell(new TakeHere(deadLetterId, recorded, handler));
    }

    /// <summary>
    /// The recorded followers of a taken entry that are this pool's to run, in the entry's order: queued when the pool's
    /// stream behind the entry is released, ahead of what the stream holds (so none of them runs while its aggregate is
    /// still parked here), or at once when the pool parks nothing behind the entry.
    /// </summary>
    private void RunTaken(TakenHere taken)
    {
        var items = taken.ToRun.Select(f => new WorkItem(0, f, taken.Handler, 0) { FollowerOf = taken.DeadLetterId });
        if (_parked.Values.FirstOrDefault(p => p.DeadLetterId == taken.DeadLetterId) is { } parked)
        {
            parked.TakenFollowers.AddRange(items);
            return;
        }

        foreach (var item in items)
        {
            _queue.Enqueue(item, urgent: false);
        }

        Schedule();
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
    /// Tells the node's other pools (through its coordinator) that dead letters were resolved here (replayed, skipped or purged): the streams they
    /// parked behind them release at once, without waiting for their next refresh.
    /// </summary>
    private void Announce(long[] deadLetterIds)
    {
        if (deadLetterIds.Length > 0)
        {
            _parking.Tell(new AnnounceResolved(deadLetterIds));
        }
    }

    private sealed record DeadLetterTaken(long Id, HandlerDescriptor Handler, IActorRef? Requester, bool Replayed, DeadLetter? Entry, Exception? Error);

    private sealed record RefreshDue;

    private sealed record OpenEntriesRead(long Since, IReadOnlyList<DeadLetterKey> Entries, IReadOnlyList<DeadLetter> StaleResolutions);

    private sealed record OpenEntriesFailed(Exception Error);
}
