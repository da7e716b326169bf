using ActorEvents.Messages;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorEvents.TestKit;

/// <summary>
/// Reads what the journal holds for one persistence id by replaying it (snapshots ignored) in a throw-away
/// persistent actor. Works on every journal plugin (in-memory and SQL), so "nothing was written" can be
/// asserted the same way everywhere.
/// </summary>
public static class JournalReader
{
    /// <summary>The persisted envelopes of <paramref name="persistenceId"/>, in sequence order.</summary>
    public static async Task<IReadOnlyList<EventEnvelope>> ReadAsync(ActorSystem system, string persistenceId, TimeSpan? timeout = null)
    {
        var completion = new TaskCompletionSource<IReadOnlyList<object>>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new ReaderActor(persistenceId, completion)));
        var payloads = await completion.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(15));
        return payloads.Select(p => p as EventEnvelope
            ?? throw new InvalidOperationException($"Journal of {persistenceId} holds a {p.GetType().Name}, not an EventEnvelope.")).ToArray();
    }

    private sealed class ReaderActor : ReceivePersistentActor
    {
        private readonly TaskCompletionSource<IReadOnlyList<object>> _completion;
        private readonly List<object> _payloads = [];

        public ReaderActor(string persistenceId, TaskCompletionSource<IReadOnlyList<object>> completion)
        {
            PersistenceId = persistenceId;
            _completion = completion;
            Recover<RecoveryCompleted>(_ =>
            {
                _completion.TrySetResult(_payloads);
                Context.Stop(Self);
            });
            Recover<Tagged>(tagged => _payloads.Add(tagged.Payload));
            RecoverAny(payload => _payloads.Add(payload));
        }

        public override string PersistenceId { get; }

        // Replay every event; a snapshot would hide them.
        public override Recovery Recovery => new(SnapshotSelectionCriteria.None);

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _completion.TrySetException(reason);
            base.OnRecoveryFailure(reason, message);
        }
    }
}
