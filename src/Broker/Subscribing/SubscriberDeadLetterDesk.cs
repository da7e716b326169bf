using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Broker.Subscribing;

/// <summary>
/// Replays and skips subscribers' dead letters for the dead-letter office (through its router): a replay runs the
/// subscriber once more on the kept message, with its de-duplication; an Ack (or a message handled meanwhile) removes
/// the entry, anything else records the failure and keeps it. A skip removes it. Each request gets
/// <see cref="DeadLetterReplayed"/>, <see cref="DeadLetterSkipped"/> or <see cref="DeadLetterOperationFailed"/>.
/// </summary>
internal sealed class SubscriberDeadLetterDesk : ReceiveActor
{
    /// <summary>Creates the desk.</summary>
    public SubscriberDeadLetterDesk(IReadOnlyDictionary<string, SubscriberRunner> runners, IDeadLetterStore store)
    {
        Receive<ReplayDeadLetterEntry>(replay =>
        {
            var entry = replay.Entry;
            if (!runners.TryGetValue(entry.Handler, out var runner) || entry.Envelope.Event is not BrokerMessage message)
            {
                replay.Requester.Tell(new DeadLetterOperationFailed(entry.Id, $"Subscriber '{entry.Handler}' is not registered on this node."));
                return;
            }

            ReplayAsync(runner, message, entry, store).PipeTo(replay.Requester,
                failure: error => new DeadLetterOperationFailed(entry.Id, error.GetBaseException().Message));
        });
        Receive<SkipDeadLetterEntry>(skip => store.TakeAsync(skip.Entry.Id)
            .ContinueWith(task => task.IsCompletedSuccessfully
                ? (object)new DeadLetterSkipped(skip.Entry.Id, 0)
                : new DeadLetterOperationFailed(skip.Entry.Id, task.Exception?.GetBaseException().Message ?? "cancelled"), TaskScheduler.Default)
            .PipeTo(skip.Requester));
    }

    /// <summary>Props of the desk.</summary>
    public static Props Props(IReadOnlyDictionary<string, SubscriberRunner> runners, IDeadLetterStore store) =>
        Akka.Actor.Props.Create(() => new SubscriberDeadLetterDesk(runners, store));

    private static async Task<DeadLetterReplayed> ReplayAsync(SubscriberRunner runner, BrokerMessage message, DeadLetter entry, IDeadLetterStore store)
    {
        HandlerFailure failure;
        try
        {
            var verdict = await runner.RunOnceAsync(message, entry.Attempts + 1, entry.FirstFailureAt, CancellationToken.None).ConfigureAwait(false);
            if (verdict.Outcome == SubscriberOutcome.Ack)
            {
                await store.TakeAsync(entry.Id).ConfigureAwait(false);
                return new DeadLetterReplayed(entry.Id, true, 0, null);
            }

            failure = verdict.Failure ?? new HandlerFailure("SubscriberResult", $"the subscriber answered {verdict.Outcome}", null, false);
        }
        catch (Exception error)
        {
            failure = HandlerFailure.From(error, permanent: false);
        }

        await store.RecordFailureAsync(entry.Id, failure, entry.Attempts + 1).ConfigureAwait(false);
        return new DeadLetterReplayed(entry.Id, false, 0, failure.ToString());
    }
}
