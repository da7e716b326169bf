using ActorEvents.Actors.Subscriptions.Sinks;
using ActorEvents.Actors.Subscriptions.Sources;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using JournalEnvelope = Akka.Persistence.Query.EventEnvelope;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>Loading the checkpoint, running the journal stream and delivering its batches one step at a time.</summary>
internal sealed partial class SubscriptionActor
{
    // ---- loading ----

    private void Load()
    {
        Become(Loading);
        Run("loading the checkpoint", async () =>
        {
            var checkpoint = await _runtime.Checkpoints.LoadAsync(_definition.Name).ConfigureAwait(false);
            await _sink.PrepareAsync(CancellationToken.None).ConfigureAwait(false);
            return new CheckpointLoaded(checkpoint);
        }, StepKind.Load);
    }

    private void Loaded(CheckpointLoaded loaded)
    {
        _step = null;
        _failures = 0;
        _tracker.StartAt(loaded.Checkpoint.Position);
        _paused = loaded.Checkpoint.Paused;
        _log.Info("Subscription {0} ({1}) starts at position {2}{3}", _definition.Name, _definition.Source, _tracker.Position, _paused ? ", paused" : string.Empty);
        Resume();
    }

    /// <summary>Into <see cref="Running"/> (with a fresh stream from the position) or <see cref="Paused"/>.</summary>
    private void Resume()
    {
        // A step that ends during the hand-over (an operator's pause, resume or reset) does not start the stream again.
        if (_handingOver)
        {
            Next();
            return;
        }

        if (_paused)
        {
            StopStream();
            Become(Paused);
        }
        else
        {
            Become(Running);
            StartStream();
        }

        Next();
    }

    // ---- the stream ----

    private void StartStream()
    {
        StopStream();
        var generation = _generation;
        // Gap-safe: events are handed out only up to an ordering below which nothing can still commit.
        var live = _source.From(_tracker.Position, Math.Max(_profile.BatchSize, GapSafeJournalSource.DefaultPageSize))
            .ViaMaterialized(KillSwitches.Single<JournalEnvelope>(), Keep.Right);
        // Without a poll interval a batch is whatever arrived while the previous one was handled; with one, events are
        // gathered until the batch is full or the interval has passed (a backlog fills batches at once).
        var batches = _profile.PollInterval > TimeSpan.Zero
            ? live.GroupedWithin(_profile.BatchSize, _profile.PollInterval).Select(events => (IReadOnlyList<JournalEnvelope>)events.ToList())
            : live.Batch(_profile.BatchSize, first => new List<JournalEnvelope> { first }, (batch, next) =>
            {
                batch.Add(next);
                return batch;
            }).Select(events => (IReadOnlyList<JournalEnvelope>)events);
        _stream = batches
            .Select(events => new JournalBatch(generation, events))
            .ToMaterialized(Sink.ActorRefWithAck<JournalBatch>(Self, new StreamStarted(generation), StreamAck.Instance,
                new StreamEnded(generation, null), error => new StreamEnded(generation, error)), Keep.Left)
            .Run(Context.Materializer());
    }

    /// <summary>Stops the live stream; whatever it still delivers belongs to an old generation and is ignored.</summary>
    private void StopStream()
    {
        _stream?.Shutdown();
        _stream = null;
        _generation++;
        _waiting = null;
        _batchBackingOff = false;
    }

    private void StreamStopped(StreamEnded ended)
    {
        if (ended.Generation != _generation)
        {
            return;
        }

        StopStream();
        _failures++;
        var delay = Retry.DelayBefore(_failures);
        RecordError($"the journal stream {(ended.Error is null ? "completed" : "failed")}: {ended.Error?.GetBaseException().Message ?? "no error"}; restarting in {delay.TotalSeconds:0.#} s");
        Timers.StartSingleTimer(TickKind.RestartStream, new Tick(TickKind.RestartStream), delay);
    }

    // ---- one step at a time ----

    /// <summary>Does the next thing once nothing runs: an operator's request, the hand-over's end, then a waiting batch.</summary>
    private void Next()
    {
        if (_step is not null || _state() == SubscriptionState.Starting)
        {
            return;
        }

        if (_operations.TryDequeue(out var operation))
        {
            RunOperation(operation.Request, operation.Requester);
            return;
        }

        if (_handingOver)
        {
            FinishHandOver();
            return;
        }

        if (_waiting is { } waiting && !_batchBackingOff)
        {
            _waiting = null;
            Deliver(waiting.Batch, waiting.Stream);
        }
    }

    private void Deliver(JournalBatch batch, IActorRef stream)
    {
        var position = _tracker.Position;
        var events = new List<SourcedEvent>(batch.Events.Count);
        var last = position;
        foreach (var journalEvent in batch.Events)
        {
            var offset = journalEvent.Offset is Sequence sequence ? sequence.Value : 0;
            if (offset <= position)
            {
                continue;
            }

            last = Math.Max(last, offset);
            if (journalEvent.Event is SkippedJournalGap gap)
            {
                _skippedGaps += gap.Orderings.Count;
                RecordError($"journal orderings {string.Join(", ", gap.Orderings)} never committed within {gap.Waited.TotalSeconds:0.###} s: passed over as permanent gaps");
            }
            else if (journalEvent.Event is Messages.EventEnvelope stored)
            {
                // In today's shape: the events its upcasters make of the row (none, one or several) share its position, and a
                // batch holds all of them, so the checkpoint never stops between two events of one row.
                foreach (var envelope in _runtime.Types.Upcasters.Upcast(stored))
                {
                    events.Add(new SourcedEvent(offset, envelope));
                }
            }

            // Anything else (a row that is not an ActorEvents event, the end of what the source holds) moves the position only.
        }

        var delivery = new SubscriptionBatch(++_nextBatchId, _tracker.Stored, last, events);
        var inFlight = new InFlightBatch(batch, stream, delivery);
        if (events.Count == 0 && !_sink.StoresCheckpoint)
        {
            BatchDone(new BatchDelivered(inFlight, BatchReport.Clean));
            return;
        }

        Run("delivering a batch", async () => new BatchDelivered(inFlight, await _sink.DeliverAsync(delivery, CancellationToken.None).ConfigureAwait(false)),
            StepKind.Batch, inFlight);
    }

    private void BatchDone(BatchDelivered delivered)
    {
        _step = null;
        _failures = 0;
        var batch = delivered.Batch;
        foreach (var line in delivered.Report.GaveUp)
        {
            RecordError(line);
        }

        _tracker.Handled(batch.Delivery.To, batch.Delivery.Events.Count, _sink.StoresCheckpoint);
        if (_rebuildTarget is { } target && _tracker.Position >= target)
        {
            _log.Info("Projection {0} rebuilt up to position {1}", _definition.Name, target);
            _rebuildTarget = null;
        }

        // Ask for the next batch, unless the stream was stopped meanwhile.
        if (batch.Journal.Generation == _generation)
        {
            batch.Stream.Tell(StreamAck.Instance);
        }

        if (_tracker.WriteDue)
        {
            WriteCheckpoint();
        }
        else if (_tracker.HasUnstored)
        {
            Timers.StartSingleTimer(TickKind.IdleCheckpoint, new Tick(TickKind.IdleCheckpoint), _runtime.Options.IdleCheckpointDelay);
        }

        Next();
    }

    private void WriteCheckpointWhenIdle()
    {
        if (_step is null)
        {
            WriteCheckpoint();
        }
        else
        {
            Timers.StartSingleTimer(TickKind.IdleCheckpoint, new Tick(TickKind.IdleCheckpoint), _runtime.Options.IdleCheckpointDelay);
        }
    }

    private void WriteCheckpoint()
    {
        if (!_tracker.HasUnstored || _step is not null)
        {
            return;
        }

        var (expected, position) = (_tracker.Stored, _tracker.Position);
        Run("writing the checkpoint", async () =>
            new CheckpointWritten(position, await _runtime.Checkpoints.AdvanceAsync(_definition.Name, expected, position).ConfigureAwait(false)), StepKind.Checkpoint);
    }

    private void Written(CheckpointWritten written)
    {
        _step = null;
        if (!written.Stored)
        {
            CheckpointMoved();
            return;
        }

        _tracker.Wrote(written.Position);
        Next();
    }

    /// <summary>Someone else moved the stored checkpoint (another instance, or an operator's reset on another cluster): start over from it.</summary>
    private void CheckpointMoved()
    {
        RecordError($"the stored checkpoint is no longer at {_tracker.Stored}: another instance moved it; continuing from the stored one");
        StopStream();
        Load();
    }

    /// <summary>Runs an asynchronous step; its result (or <see cref="StepFailed"/>) comes back as a message.</summary>
    private void Run(string what, Func<Task<object>> work, StepKind kind, InFlightBatch? batch = null, IActorRef? requester = null)
    {
        _step = what;
        work().PipeTo(Self, failure: error => new StepFailed(kind, what, error, batch, requester));
    }

    private void StepFailedOn(StepFailed failed)
    {
        _step = null;
        var error = failed.Error.GetBaseException();
        if (failed.Kind == StepKind.Operation)
        {
            OperationFailed(failed, error);
            return;
        }

        if (error is CheckpointMovedException)
        {
            CheckpointMoved();
            return;
        }

        _failures++;
        var delay = Retry.DelayBefore(_failures);
        RecordError($"{failed.What} failed ({error.GetType().Name}: {error.Message}); retrying in {delay.TotalSeconds:0.#} s");
        switch (failed.Kind)
        {
            case StepKind.Load:
                Timers.StartSingleTimer(TickKind.Reload, new Tick(TickKind.Reload), delay);
                return;
            case StepKind.Batch when failed.Batch is { } batch && batch.Journal.Generation == _generation:
                // Nothing of the batch was applied (a projection's transaction rolled back, or the pool was cut off):
                // the same batch is delivered again after the pause; the stream waits for it.
                _waiting = (batch.Journal, batch.Stream);
                _batchBackingOff = true;
                Timers.StartSingleTimer(TickKind.RetryBatch, new Tick(TickKind.RetryBatch), delay);
                break;
            case StepKind.Checkpoint:
                Timers.StartSingleTimer(TickKind.IdleCheckpoint, new Tick(TickKind.IdleCheckpoint), delay);
                break;
        }

        Next();
    }

    private void RecordError(string error)
    {
        _lastError = error;
        _lastErrorAt = DateTimeOffset.UtcNow;
        _log.Warning("Subscription {0}: {1}", _definition.Name, error);
    }
}
