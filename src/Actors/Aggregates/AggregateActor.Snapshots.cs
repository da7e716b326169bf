using Akka.Event;
using Akka.Persistence;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// Snapshots: one save at a time. A save is started when <see cref="AggregateRuntimeSettings.SnapshotEvery"/> events have
/// been persisted since the last one and no save is in flight; its success deletes every older snapshot and may start
/// the next save at once. Two saves in flight could finish out of order (the snapshot store runs writes concurrently),
/// and the older one, committed after the newer one's clean-up, would stay behind.
/// </summary>
internal sealed partial class AggregateActor
{
    private long _lastSnapshotSequenceNr;
    private long? _snapshotInFlight;

    private void ReceiveSnapshotOutcomes()
    {
        Command<SaveSnapshotSuccess>(success =>
        {
            _snapshotInFlight = null;
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
            MaybeSnapshot();
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _snapshotInFlight = null;
            _log.Warning(failure.Cause, "Snapshot of {0} at {1} failed; recovery stays correct, only slower", PersistenceId, failure.Metadata.SequenceNr);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure =>
            _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
    }

    private void MaybeSnapshot()
    {
        if (_settings.SnapshotEvery > 0 && _snapshotInFlight is null && LastSequenceNr - _lastSnapshotSequenceNr >= _settings.SnapshotEvery)
        {
            _lastSnapshotSequenceNr = LastSequenceNr;
            _snapshotInFlight = LastSequenceNr;
            SaveSnapshot(_recent.Snapshot(_state));
        }
    }
}
