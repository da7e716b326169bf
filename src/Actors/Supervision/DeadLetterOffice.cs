using ActorEvents.Actors.Pipeline;
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
    public DeadLetterOffice(IDeadLetterStore store, IActorRef pool, TimeSpan replayTimeout)
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
            var purged = await _store.PurgeAsync();
            _pool.Tell(new ReleaseAllParked(purged));
            return new DeadLettersPurged(purged.Count);
        }, null));
    }

    /// <summary>Props of the office.</summary>
    public static Props Props(IDeadLetterStore store, IActorRef pool, TimeSpan replayTimeout) =>
        Akka.Actor.Props.Create(() => new DeadLetterOffice(store, pool, replayTimeout));

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
