using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions.Sinks;
using ActorEvents.Actors.Subscriptions.Sources;
using ActorEvents.Actors.Supervision;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using JournalEnvelope = Akka.Persistence.Query.EventEnvelope;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>What every subscription of a node shares.</summary>
/// <param name="ReadJournal">The SQL read journal (null where subscriptions do not run).</param>
/// <param name="Checkpoints">The checkpoint store.</param>
/// <param name="Head">Head and lag of the sources.</param>
/// <param name="Database">The journal's database (projections' transactions).</param>
/// <param name="Guard">The processed-event guard of durable handlers.</param>
/// <param name="Scopes">DI scopes (handlers, projectors).</param>
/// <param name="Types">The closed type map.</param>
/// <param name="DeadLetters">The dead-letter store.</param>
/// <param name="Pipeline">Pipeline settings (retry policy, ordering, follow-up depth).</param>
/// <param name="Options">Subscription settings.</param>
/// <param name="TrustTransactionHorizon">
/// True when every journal row is written by ActorEvents' group-commit writer, whose PostgreSQL transactions take
/// their id before their orderings: a gap may then be judged by the transaction horizon. False (Akka.Persistence.Sql's
/// own writer): only the gap timeout declares a gap.
/// </param>
public sealed record SubscriptionRuntime(
    SqlReadJournal? ReadJournal,
    CheckpointStore Checkpoints,
    JournalHead Head,
    ActorEventsDatabase Database,
    ProcessedEventGuard Guard,
    IServiceScopeFactory Scopes,
    MessageTypeRegistry Types,
    IDeadLetterStore DeadLetters,
    PipelineOptions Pipeline,
    SubscriptionsOptions Options,
    bool TrustTransactionHorizon = true);

/// <summary>The message the cluster singleton manager sends a subscription when its node hands it over.</summary>
public sealed record StopSubscription
{
    /// <summary>The single instance.</summary>
    public static StopSubscription Instance { get; } = new();
}

/// <summary>
/// One durable subscription (the cluster singleton's instance). It loads its checkpoint, reads its
/// <see cref="GapSafeJournalSource">source</see> from there as a live stream gathered into batches of the profile's
/// size, and hands each batch to its <see cref="ISubscriptionSink">sink</see>: its own <see cref="HandlerPool"/>
/// (durable handlers: retries, dead-letter store, parking, per-aggregate order) or its projector (one transaction per
/// batch with the checkpoint; poison events dead-lettered). The next batch is taken only once the previous one is
/// finished. A <see cref="CheckpointTracker"/> decides when a handler subscription writes its checkpoint (every
/// <see cref="SubscriptionProfile.CheckpointEvery"/> events, when idle, on hand-over). After a crash the next instance
/// starts from the stored checkpoint, so events are delivered at least once.
/// </summary>
/// <remarks>
/// States: <see cref="Loading"/> (checkpoint and sink being read) → <see cref="Running"/> (the stream runs) or
/// <see cref="Paused"/> (no stream) → <see cref="HandingOver"/> (its node hands it over: the running step finishes, the
/// position is stored, it stops). In each state one asynchronous step at most runs at a time (a batch, a checkpoint
/// write, an operator's request); what comes meanwhile waits for it. Operator requests are in
/// <c>SubscriptionActor.Operations.cs</c>.
/// </remarks>
internal sealed partial class SubscriptionActor : ReceiveActor, IWithTimers
{
    private readonly SubscriptionDefinition _definition;
    private readonly SubscriptionProfile _profile;
    private readonly SubscriptionRuntime _runtime;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<(object Request, IActorRef Requester)> _operations = new();
    private readonly string _node;
    private readonly HandlerPoolLoad _poolLoad = new();
    private readonly GapSafeJournalSource _source;
    private readonly CheckpointTracker _tracker;
    private ISubscriptionSink _sink = null!;
    private ProjectionSink? _projection;
    private long _skippedGaps;
    private int _generation;
    private UniqueKillSwitch? _stream;
    private (JournalBatch Batch, IActorRef Stream)? _waiting;
    private bool _batchBackingOff;
    private string? _step;
    private int _failures;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private long? _rebuildTarget;
    private long _nextBatchId;
    private bool _paused;
    private bool _publishingStatus;
    private DateTimeOffset? _stalledSince;

    /// <summary>Set once, when it enters <see cref="HandingOver"/> (no state leads out of it but stopping).</summary>
    private bool _handingOver;
    private Func<SubscriptionState> _state;

    /// <summary>Creates the subscription.</summary>
    public SubscriptionActor(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime)
    {
        _definition = definition;
        _profile = profile;
        _runtime = runtime;
        _tracker = new CheckpointTracker(profile.CheckpointEvery);
        _node = Cluster.Get(Context.System).SelfAddress.ToString();
        _source = new GapSafeJournalSource(runtime.Database, JournalHeadWatch.Get(Context.System), new JournalRowDecoder((ExtendedActorSystem)Context.System, runtime.Types), definition.Tag,
            runtime.Options.GapTimeout, runtime.Options.SourcePollInterval, _log) { TrustTransactionHorizon = runtime.TrustTransactionHorizon };
        _state = () => SubscriptionState.Starting;
        Become(Loading);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of a subscription.</summary>
    public static Props Props(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime) =>
        Akka.Actor.Props.Create(() => new SubscriptionActor(definition, profile, runtime));

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_definition.SinkFactory is { } createSink)
        {
            _sink = createSink(new SubscriptionSinkContext(_definition, _runtime, _log));
        }
        else if (_definition.Kind == SubscriptionKind.Handlers)
        {
            var settings = HandlerPoolSettings.Of(_runtime.Pipeline, _profile.MaxConcurrentHandlers, _profile.MaxConcurrentHandlers > 1, _node)
                with { ParkedFinishOnceRecorded = true };
            var pool = Context.ActorOf(HandlerPool.Props(settings,
                new HandlerPoolDependencies(_definition.Handlers, _runtime.Types, _poolLoad, _runtime.Scopes, _runtime.DeadLetters, _runtime.Guard)), "handlers");
            _sink = new HandlerSink(_definition.Handlers, pool);
        }
        else
        {
            _sink = _projection = new ProjectionSink(_definition, _runtime);
        }

        if (_runtime.Options.MetricsInterval > TimeSpan.Zero)
        {
            Timers.StartPeriodicTimer(TickKind.PublishStatus, new Tick(TickKind.PublishStatus), TimeSpan.Zero, _runtime.Options.MetricsInterval);
        }

        Load();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        TelemetryBoard.RemoveSubscription(Self.Path.ToStringWithUid());
        StopStream();
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Resume);

    private RetryOptions Retry => _runtime.Pipeline.Retry;

    // ---- states ----

    /// <summary>The checkpoint and what the sink needs are being read; operator requests wait.</summary>
    private void Loading()
    {
        _state = () => SubscriptionState.Starting;
        Receive<CheckpointLoaded>(Loaded);
        Receive<Tick>(tick => tick.Kind == TickKind.Reload, _ => Load());
        Common();
    }

    /// <summary>The stream runs; batches are delivered one at a time.</summary>
    private void Running()
    {
        _state = () => _failures > Retry.MaxRetries ? SubscriptionState.Stalled
            : _rebuildTarget is not null ? SubscriptionState.Rebuilding
            : SubscriptionState.Running;
        Receive<StreamStarted>(started =>
        {
            if (started.Generation == _generation)
            {
                Sender.Tell(StreamAck.Instance);
            }
        });
        Receive<JournalBatch>(batch =>
        {
            if (batch.Generation == _generation)
            {
                _waiting = (batch, Sender);
                Next();
            }
        });
        Receive<StreamEnded>(StreamStopped);
        Receive<Tick>(tick => tick.Kind == TickKind.RestartStream, _ =>
        {
            if (_stream is null)
            {
                StartStream();
            }
        });
        Receive<Tick>(tick => tick.Kind == TickKind.RetryBatch, _ =>
        {
            _batchBackingOff = false;
            Next();
        });
        Common();
    }

    /// <summary>Paused by an operator: no stream, no batches; operator requests still run.</summary>
    private void Paused()
    {
        _state = () => SubscriptionState.Paused;
        Common();
    }

    /// <summary>Its node hands it over: the running step finishes, the position reached is stored, then it stops.</summary>
    private void HandingOver()
    {
        _handingOver = true;
        _state = () => SubscriptionState.Running;
        Receive<Tick>(tick => tick.Kind == TickKind.HandOverDeadline, _ =>
        {
            _log.Warning("Subscription {0} stops before its batch finished (hand-over timeout); the next instance redelivers it", _definition.Name);
            Context.Stop(Self);
        });
        Receive<StopSubscription>(_ => { });
        OperatorRequests(_ => Sender.Tell(HandingOverReply(_definition.Name)));
        Common();
    }

    /// <summary>What every state answers: step results, status, operator requests, the hand-over, stray stream messages.</summary>
    private void Common()
    {
        Receive<BatchDelivered>(BatchDone);
        Receive<CheckpointWritten>(Written);
        Receive<OperationCompleted>(Completed);
        Receive<StepFailed>(StepFailedOn);
        Receive<Tick>(tick => tick.Kind == TickKind.IdleCheckpoint, _ => WriteCheckpointWhenIdle());
        Receive<GetSubscriptionStatus>(_ => ReplyStatus(Sender, status => status));
        Receive<Tick>(tick => tick.Kind == TickKind.PublishStatus, _ =>
        {
            if (!_publishingStatus)
            {
                _publishingStatus = true;
                ReplyStatus(Self, status => new StatusRead(status));
            }
        });
        Receive<StatusRead>(read =>
        {
            _publishingStatus = false;
            _stalledSince = read.Status.State == SubscriptionState.Stalled ? _stalledSince ?? DateTimeOffset.UtcNow : null;
            TelemetryBoard.PublishSubscription(Self.Path.ToStringWithUid(), _node, read.Status, _stalledSince);
        });
        OperatorRequests(request =>
        {
            _operations.Enqueue((request, Sender));
            Next();
        });
        Receive<StopSubscription>(_ => HandOver());
        // A stream stopped by a state change may still deliver: its generation is gone, it is dropped here (it is re-read).
        Receive<StreamStarted>(_ => { });
        Receive<JournalBatch>(_ => { });
        Receive<StreamEnded>(_ => { });
        Receive<Tick>(_ => { });
    }

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

    // ---- hand-over ----

    private void HandOver()
    {
        StopStream();
        Become(HandingOver);
        Timers.StartSingleTimer(TickKind.HandOverDeadline, new Tick(TickKind.HandOverDeadline), _runtime.Options.HandOverTimeout);
        while (_operations.TryDequeue(out var operation))
        {
            operation.Requester.Tell(HandingOverReply(_definition.Name));
        }

        Next();
    }

    /// <summary>Nothing runs any more: store the position reached, then stop.</summary>
    private void FinishHandOver()
    {
        if (_tracker.HasUnstored)
        {
            WriteCheckpoint();
            return;
        }

        _log.Info("Subscription {0} stopped at position {1} (hand-over)", _definition.Name, _tracker.Stored);
        Context.Stop(Self);
    }

    private static SubscriptionOperationFailed HandingOverReply(string name) => new(name, SubscriptionErrorCode.Unreachable,
        $"Subscription '{name}' is handing over to another node; try again in a moment.");

    // ---- status ----

    private void ReplyStatus(IActorRef requester, Func<SubscriptionStatus, object> reply)
    {
        var live = new LiveFigures(_state(), _tracker.Stored, _tracker.Position, _lastError, _lastErrorAt, _node, _tracker.Processed, _poolLoad.Abandoned,
            _skippedGaps);
        SubscriptionStatusReader.ReadAsync(_definition, _profile, _runtime, live)
            .ContinueWith(task => reply(task.Result), TaskScheduler.Default)
            .PipeTo(requester);
    }

    // ---- messages ----

    private enum TickKind
    {
        IdleCheckpoint,
        RestartStream,
        RetryBatch,
        Reload,
        HandOverDeadline,
        PublishStatus,
    }

    /// <summary>The status this instance read for the gauges and the readiness check.</summary>
    private sealed record StatusRead(SubscriptionStatus Status);

    private sealed record Tick(TickKind Kind);

    private sealed record CheckpointLoaded(Checkpoint Checkpoint);

    private sealed record StreamStarted(int Generation);

    private sealed record StreamEnded(int Generation, Exception? Error);

    private sealed record JournalBatch(int Generation, IReadOnlyList<JournalEnvelope> Events);

    private sealed record StreamAck
    {
        public static StreamAck Instance { get; } = new();
    }

    /// <summary>A batch being delivered: what the stream gave (to ack it, or to deliver it again) and what the sink got.</summary>
    private sealed record InFlightBatch(JournalBatch Journal, IActorRef Stream, SubscriptionBatch Delivery);

    private sealed record BatchDelivered(InFlightBatch Batch, BatchReport Report);

    private sealed record CheckpointWritten(long Position, bool Stored);

    /// <summary>What an asynchronous step was doing, which decides how its failure is handled.</summary>
    private enum StepKind
    {
        Load,
        Batch,
        Checkpoint,
        Operation,
    }

    private sealed record StepFailed(StepKind Kind, string What, Exception Error, InFlightBatch? Batch, IActorRef? Requester);
}

/// <summary>The stored checkpoint was moved by someone else while this instance worked from an older one.</summary>
/// <param name="subscription">Subscription name.</param>
/// <param name="expected">The position this instance expected.</param>
public sealed class CheckpointMovedException(string subscription, long expected)
    : Exception($"The checkpoint of '{subscription}' is no longer at {expected}.");

/// <summary>An operator asked for a position the subscription cannot take (beyond the journal's head).</summary>
internal sealed class InvalidSubscriptionPositionException(string message) : Exception(message);
