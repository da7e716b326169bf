using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Supervision;

/// <summary>
/// The front desk of the dead-letter store (registered in the <see cref="Akka.Hosting.ActorRegistry"/>):
/// list, inspect, replay, replay-all, skip and purge, as Akka messages. Replays and skips go through the
/// handler pool, so they run under the handler's retry policy and release parked followers in order.
/// Every request gets a typed reply; a bad id gets <see cref="DeadLetterOperationFailed"/>.
/// </summary>
public sealed class DeadLetterOffice : ReceiveActor
{
    private readonly IDeadLetterStore _store;
    private readonly IActorRef _pool;
    private readonly TimeSpan _replayTimeout;

    /// <summary>Creates the office.</summary>
    /// <param name="store">The dead-letter store.</param>
    /// <param name="pool">Where replays, skips and purges go (a pool, or the router in front of the pools and projections).</param>
    /// <param name="replayTimeout">How long one replay of a replay-all (or a projection's purge) may take.</param>
    /// <param name="projections">Names of the projections, which resolve their own dead letters.</param>
    public DeadLetterOffice(IDeadLetterStore store, IActorRef pool, TimeSpan replayTimeout, IReadOnlyCollection<string> projections)
    {
        _store = store;
        _pool = pool;
        _replayTimeout = replayTimeout;

        Receive<ListDeadLetters>(list => Answer(async () => new DeadLetterList(await _store.ListAsync(list.Filter)), null));
        Receive<InspectDeadLetter>(inspect => Answer(async () =>
            await _store.GetAsync(inspect.Id) is { } entry ? new DeadLetterFound(entry) : NotFound(inspect.Id), inspect.Id));
        Receive<ReplayDeadLetter>(replay =>
        {
            var requester = Sender;
            Answer(async () =>
            {
                if (await _store.GetAsync(replay.Id) is not { } entry)
                {
                    return NotFound(replay.Id);
                }

                _pool.Tell(new ReplayDeadLetterEntry(entry, requester));
                return null;
            }, replay.Id);
        });
        Receive<ReplayAllDeadLetters>(all => Answer(async () =>
        {
            var results = new List<DeadLetterReplayed>();
            foreach (var entry in await _store.ListAsync(new DeadLetterFilter(Handler: all.Handler, Limit: int.MaxValue)))
            {
                var reply = await _pool.Ask<object>(requester => new ReplayDeadLetterEntry(entry, requester), _replayTimeout, CancellationToken.None);
                results.Add(reply as DeadLetterReplayed ?? new DeadLetterReplayed(entry.Id, false, 0, reply.ToString()));
            }

            return new DeadLettersReplayed(results);
        }, null));
        Receive<SkipDeadLetter>(skip =>
        {
            var requester = Sender;
            Answer(async () =>
            {
                if (await _store.GetAsync(skip.Id) is not { } entry)
                {
                    return NotFound(skip.Id);
                }

                _pool.Tell(new SkipDeadLetterEntry(entry, requester));
                return null;
            }, skip.Id);
        });
        Receive<PurgeDeadLetters>(_ => Answer(async () =>
        {
            var purged = await _store.PurgeAsync(projections);
            _pool.Tell(new ReleaseAllParked(purged));
            var removed = purged.Count;
            foreach (var projection in projections)
            {
                if ((await _store.ListAsync(new DeadLetterFilter(Handler: projection, Limit: 1))).Count == 0)
                {
                    continue; // nothing of it to purge (and where subscriptions do not run, nobody to ask)
                }

                // A projection skips its own entries, applying their parked followers in its order.
                var reply = await _pool.Ask<object>(new PurgeProjectionDeadLetters(projection), _replayTimeout, CancellationToken.None);
                if (reply is not DeadLettersPurged byProjection)
                {
                    return reply;
                }

                removed += byProjection.Removed;
            }

            return new DeadLettersPurged(removed);
        }, null));
    }

    /// <summary>Props of the office.</summary>
    public static Props Props(IDeadLetterStore store, IActorRef pool, TimeSpan replayTimeout, IReadOnlyCollection<string> projections) =>
        Akka.Actor.Props.Create(() => new DeadLetterOffice(store, pool, replayTimeout, projections));

    private static DeadLetterOperationFailed NotFound(long id) => new(id, $"There is no dead letter with id {id}.");

    /// <summary>Runs a store operation off the actor's thread and sends its reply (if any) to the sender.</summary>
    private void Answer(Func<Task<object?>> operation, long? id)
    {
        var requester = Sender;
        operation().ContinueWith(task =>
        {
            if (task.IsCompletedSuccessfully)
            {
                if (task.Result is { } reply)
                {
                    requester.Tell(reply);
                }
            }
            else
            {
                requester.Tell(new DeadLetterOperationFailed(id, $"The dead-letter store failed: {task.Exception?.GetBaseException().Message}"));
            }
        }, TaskScheduler.Default);
    }
}
