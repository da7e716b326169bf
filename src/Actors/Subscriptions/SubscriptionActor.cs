using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
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
    SubscriptionsOptions Options);

/// <summary>The message the cluster singleton manager sends a subscription when its node hands it over.</summary>
public sealed record StopSubscription
{
    /// <summary>The single instance.</summary>
    public static StopSubscription Instance { get; } = new();
}

/// <summary>
/// One durable subscription (the cluster singleton's instance). It loads its checkpoint, reads its source from there
/// (<c>EventsByTag</c>, or <c>AllEvents</c>) as a live stream gathered into batches of the profile's size, and feeds
/// each batch either to its own <see cref="HandlerPool"/> (durable handlers: retries, dead-letter store, parking,
/// per-aggregate order) or to its projector. The next batch is taken only once the previous one is finished:
/// every handler done, dead-lettered or parked (<see cref="DispatchCompleted"/>), or the projection's transaction
/// committed. Handler subscriptions write their checkpoint every <see cref="SubscriptionProfile.CheckpointEvery"/>
/// events and when idle; projections commit it with every batch. After a crash the next instance starts from the
/// stored checkpoint, so events are delivered at least once. It also answers status, pause, resume, reset and rebuild.
/// </summary>
public sealed class SubscriptionActor : ReceiveActor, IWithTimers
{
    private readonly SubscriptionDefinition _definition;
    private readonly SubscriptionProfile _profile;
    private readonly SubscriptionRuntime _runtime;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<(object Request, IActorRef Requester)> _controls = new();
    private readonly string _node;
    private IActorRef? _pool;
    // Events read from the journal per query (the batches downstream are the profile's size): as Akka's read journal buffers.
    private const int SourcePageSize = 500;
    private readonly HandlerPoolLoad _poolLoad = new();
    private readonly Sources.GapSafeJournalSource _source;
    private long _skippedGaps;
    private bool _loaded;
    private long _position;
    private long _checkpoint;
    private int _sinceCheckpoint;
    private bool _paused;
    private bool _stopping;
    private int _generation;
    private UniqueKillSwitch? _stream;
    private (JournalBatch Batch, IActorRef Sink)? _waiting;
    private InFlightBatch? _inFlight;
    private string? _busy;
    private int _failures;
    private bool _holdBatch;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private long _processed;
    private long? _rebuildTarget;
    private long _nextBatchId;

    /// <summary>Creates the subscription.</summary>
    public SubscriptionActor(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime)
    {
        _definition = definition;
        _profile = profile;
        _runtime = runtime;
        _node = Cluster.Get(Context.System).SelfAddress.ToString();
        _source = new Sources.GapSafeJournalSource(runtime.Database, (ExtendedActorSystem)Context.System, definition.Tag,
            runtime.Options.GapTimeout, runtime.Options.SourcePollInterval, _log);

        Receive<CheckpointLoaded>(Loaded);
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
        Receive<DispatchCompleted>(Dispatched);
        Receive<BatchCommitted>(committed => BatchDone(committed.Batch));
        Receive<CheckpointWritten>(Written);
        Receive<ControlCompleted>(Completed);
        Receive<Failed>(OperationFailed);
        Receive<Tick>(tick => OnTick(tick.Kind));
        Receive<GetSubscriptionStatus>(_ => ReplyStatus(Sender, status => status));
        Receive<PauseSubscription>(request => Control(request));
        Receive<ResumeSubscription>(request => Control(request));
        Receive<ResetSubscription>(request => Control(request));
        Receive<RebuildProjection>(request => Control(request));
        Receive<StopSubscription>(_ => Stop());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of a subscription.</summary>
    public static Props Props(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime) =>
        Akka.Actor.Props.Create(() => new SubscriptionActor(definition, profile, runtime));

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_definition.Kind == SubscriptionKind.Handlers)
        {
            var pipeline = _runtime.Pipeline;
            var settings = HandlerPoolSettings.Of(pipeline, _profile.MaxConcurrentHandlers, _profile.MaxConcurrentHandlers > 1, _node);
            _pool = Context.ActorOf(HandlerPool.Props(settings,
                new HandlerPoolDependencies(_definition.Handlers, _runtime.Types, _poolLoad, _runtime.Scopes, _runtime.DeadLetters, _runtime.Guard)), "handlers");
        }

        Load();
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Resume);

    private RetryOptions Retry => _runtime.Pipeline.Retry;

    private void Load() => Run(Step.Load, "loading the checkpoint",
        async () => new CheckpointLoaded(await _runtime.Checkpoints.LoadAsync(_definition.Name).ConfigureAwait(false)));

    private void Loaded(CheckpointLoaded loaded)
    {
        _busy = null;
        _loaded = true;
        _failures = 0;
        _position = _checkpoint = loaded.Checkpoint.Position;
        _sinceCheckpoint = 0;
        _paused = loaded.Checkpoint.Paused;
        _log.Info("Subscription {0} ({1}) starts at position {2}{3}", _definition.Name, _definition.Source, _position, _paused ? ", paused" : string.Empty);
        if (!_paused && !_stopping)
        {
            StartStream();
        }

        Next();
    }

    private void StartStream()
    {
        StopStream();
        var generation = _generation;
        // Gap-safe: events are handed out only up to an ordering below which nothing can still commit.
        var source = _source.From(_position, Math.Max(_profile.BatchSize, SourcePageSize));
        var live = source.ViaMaterialized(KillSwitches.Single<JournalEnvelope>(), Keep.Right);
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
        RecordError($"the read journal stream {(ended.Error is null ? "completed" : "failed")}: {ended.Error?.GetBaseException().Message ?? "no error"}; restarting in {delay.TotalSeconds:0.#} s");
        Timers.StartSingleTimer(TickKind.RestartStream, new Tick(TickKind.RestartStream), delay);
    }

    /// <summary>Does the next thing: an operator's request, then a waiting batch, once nothing else runs.</summary>
    private void Next()
    {
        if (_busy is not null || !_loaded)
        {
            return;
        }

        if (_controls.Count > 0)
        {
            var (request, requester) = _controls.Dequeue();
            RunControl(request, requester);
            return;
        }

        if (_stopping)
        {
            FinishStopping();
            return;
        }

        if (_waiting is { } waiting && !_holdBatch)
        {
            _waiting = null;
            Process(waiting.Batch, waiting.Sink);
        }
    }

    private void Process(JournalBatch batch, IActorRef sink)
    {
        var events = new List<(long Offset, Messages.EventEnvelope? Envelope)>(batch.Events.Count);
        foreach (var journalEvent in batch.Events)
        {
            var offset = journalEvent.Offset is Sequence sequence ? sequence.Value : 0;
            if (offset > _position)
            {
                if (journalEvent.Event is Sources.SkippedJournalGap gap)
                {
                    _skippedGaps += gap.Orderings.Count;
                    RecordError($"journal orderings {string.Join(", ", gap.Orderings)} never committed within {gap.Waited.TotalSeconds:0.###} s: passed over as permanent gaps");
                }

                // Anything else in the journal (no ActorEvents envelope, a gap, the end of what the source holds) is
                // passed over, but still moves the position.
                events.Add((offset, journalEvent.Event as Messages.EventEnvelope));
            }
        }

        var inFlight = new InFlightBatch(++_nextBatchId, batch.Generation, events.Count == 0 ? _position : events[^1].Offset, events.Count, batch.Events.Count, sink);
        if (events.Count == 0)
        {
            BatchDone(inFlight);
            return;
        }

        if (_definition.Kind == SubscriptionKind.Projection)
        {
            var expected = _checkpoint;
            Run(Step.Batch, "projecting a batch", async () =>
            {
                await ProjectAsync(events, expected, inFlight.LastOffset).ConfigureAwait(false);
                return new BatchCommitted(inFlight);
            });
            return;
        }

        var items = new List<WorkItem>();
        foreach (var (_, envelope) in events)
        {
            if (envelope is not null)
            {
                foreach (var handler in _definition.Handlers.Match(envelope))
                {
                    items.Add(new WorkItem(inFlight.Id, envelope, handler, 0));
                }
            }
        }

        if (items.Count == 0)
        {
            BatchDone(inFlight);
            return;
        }

        _busy = "waiting for the handlers of a batch";
        _inFlight = inFlight;
        _pool!.Tell(new EnqueueWork(inFlight.Id, items, Self));
    }

    private async Task ProjectAsync(IReadOnlyList<(long Offset, Messages.EventEnvelope? Envelope)> events, long expected, long last)
    {
        using var timeout = new CancellationTokenSource(Retry.InvocationTimeout);
        var token = timeout.Token;
        await using var db = _runtime.Database.Open();
        await using var transaction = await _runtime.Database.BeginUnitOfWorkAsync(db, token).ConfigureAwait(false);
        // First, so that the row stays locked until commit and a second instance (a node wrongly thought dead) cannot apply the same batch.
        if (!await CheckpointStore.AdvanceAsync(db, _definition.Name, expected, last, token).ConfigureAwait(false))
        {
            throw new CheckpointMovedException(_definition.Name, expected);
        }

        await using var scope = _runtime.Scopes.CreateAsyncScope();
        var projector = (IProjector)ServiceActivation.Create(scope.ServiceProvider, _definition.ProjectorType!);
        var context = new ProjectionContext(_definition.Name, db, expected, token);
        foreach (var (offset, envelope) in events)
        {
            if (envelope is not null)
            {
                context.Position = offset;
                await projector.ProjectAsync(envelope, context).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(token).ConfigureAwait(false);
    }

    private void Dispatched(DispatchCompleted completed)
    {
        if (_inFlight is not { } batch || batch.Id != completed.RequestId)
        {
            return;
        }

        _inFlight = null;
        foreach (var outcome in completed.Outcomes.Where(o => o.Status is HandlerStatus.DeadLettered or HandlerStatus.Failed))
        {
            RecordError($"{outcome.Handler} gave up on {outcome.EventType} {outcome.EventId}: {outcome.Error}");
        }

        BatchDone(batch);
    }

    private void BatchDone(InFlightBatch batch)
    {
        _busy = null;
        _failures = 0;
        _holdBatch = false;
        _position = batch.LastOffset;
        _processed += batch.Events;
        if (_definition.Kind == SubscriptionKind.Projection)
        {
            _checkpoint = _position;
        }
        else
        {
            _sinceCheckpoint += batch.Events;
        }

        if (_rebuildTarget is { } target && _position >= target)
        {
            _log.Info("Projection {0} rebuilt up to position {1}", _definition.Name, target);
            _rebuildTarget = null;
        }

        // Ask for the next batch, unless the stream was stopped meanwhile.
        if (batch.Generation == _generation)
        {
            batch.Sink.Tell(StreamAck.Instance);
        }

        if (_sinceCheckpoint >= _profile.CheckpointEvery)
        {
            WriteCheckpoint();
        }
        else if (_position != _checkpoint)
        {
            Timers.StartSingleTimer(TickKind.IdleCheckpoint, new Tick(TickKind.IdleCheckpoint), _runtime.Options.IdleCheckpointDelay);
        }

        Next();
    }

    private void WriteCheckpoint()
    {
        if (_position == _checkpoint || _busy is not null)
        {
            return;
        }

        var expected = _checkpoint;
        var position = _position;
        Run(Step.Checkpoint, "writing the checkpoint", async () =>
            new CheckpointWritten(position, await _runtime.Checkpoints.AdvanceAsync(_definition.Name, expected, position).ConfigureAwait(false)));
    }

    private void Written(CheckpointWritten written)
    {
        _busy = null;
        if (!written.Stored)
        {
            CheckpointMoved();
            return;
        }

        // No batch runs while a checkpoint is written, so the position is the one just stored.
        _checkpoint = written.Position;
        _sinceCheckpoint = 0;
        Next();
    }

    /// <summary>Someone else moved the stored checkpoint (another instance, or an operator's reset on another cluster): start over from it.</summary>
    private void CheckpointMoved()
    {
        RecordError($"the stored checkpoint is no longer at {_checkpoint}: another instance moved it; continuing from the stored one");
        StopStream();
        _loaded = false;
        Load();
    }

    private void OnTick(TickKind kind)
    {
        switch (kind)
        {
            case TickKind.IdleCheckpoint when _busy is null:
                WriteCheckpoint();
                break;
            case TickKind.IdleCheckpoint:
                Timers.StartSingleTimer(TickKind.IdleCheckpoint, new Tick(TickKind.IdleCheckpoint), _runtime.Options.IdleCheckpointDelay);
                break;
            case TickKind.RestartStream when _stream is null && _loaded && !_paused && !_stopping:
                StartStream();
                break;
            case TickKind.RetryBatch:
                _holdBatch = false;
                Next();
                break;
            case TickKind.Reload when !_loaded:
                Load();
                break;
            case TickKind.HandOverDeadline:
                _log.Warning("Subscription {0} stops before its batch finished (hand-over timeout); the next instance redelivers it", _definition.Name);
                Context.Stop(Self);
                break;
        }
    }

    /// <summary>Runs an asynchronous step; its result (or <see cref="Failed"/>) comes back as a message.</summary>
    private void Run(Step step, string what, Func<Task<object>> work)
    {
        _busy = what;
        work().PipeTo(Self, failure: error => new Failed(step, what, error));
    }

    private void OperationFailed(Failed failed)
    {
        _busy = null;
        var error = failed.Error.GetBaseException();
        failed.Requester?.Tell(error is InvalidSubscriptionPositionException
            ? new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.InvalidPosition, error.Message)
            : new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.Failed, $"{failed.What} failed: {error.Message}"));
        if (error is CheckpointMovedException)
        {
            CheckpointMoved();
            return;
        }

        if (failed.Step == Step.Control)
        {
            // An operator's request is not retried; the subscription goes on as before.
            if (error is not InvalidSubscriptionPositionException)
            {
                RecordError($"{failed.What} failed ({error.GetType().Name}: {error.Message})");
            }

            if (!_paused && _stream is null && !_stopping)
            {
                StartStream();
            }

            Next();
            return;
        }

        _failures++;
        var delay = Retry.DelayBefore(_failures);
        RecordError($"{failed.What} failed ({error.GetType().Name}: {error.Message}); retrying in {delay.TotalSeconds:0.#} s");
        switch (failed.Step)
        {
            case Step.Load:
                Timers.StartSingleTimer(TickKind.Reload, new Tick(TickKind.Reload), delay);
                break;
            case Step.Batch:
                // The batch's transaction rolled back. Its events come again from a new stream at the unchanged position,
                // and are held back until the pause is over.
                _holdBatch = true;
                Timers.StartSingleTimer(TickKind.RetryBatch, new Tick(TickKind.RetryBatch), delay);
                StopStream();
                if (!_paused && !_stopping)
                {
                    StartStream();
                }

                break;
            case Step.Checkpoint:
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

    private void Control(object request)
    {
        if (_stopping)
        {
            Sender.Tell(new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.Unreachable,
                $"Subscription '{_definition.Name}' is handing over to another node; try again in a moment."));
            return;
        }

        _controls.Enqueue((request, Sender));
        Next();
    }

    private void RunControl(object request, IActorRef requester)
    {
        var name = _definition.Name;
        var checkpoints = _runtime.Checkpoints;
        switch (request)
        {
            case PauseSubscription when _paused:
                Reply(requester, "pause");
                Next();
                break;
            case PauseSubscription:
            {
                StopStream();
                var (expected, position) = (_checkpoint, _position);
                RunControlStep(requester, "pause", async () =>
                {
                    if (position != expected && !await checkpoints.AdvanceAsync(name, expected, position).ConfigureAwait(false))
                    {
                        throw new CheckpointMovedException(name, expected);
                    }

                    await checkpoints.SetPausedAsync(name, true).ConfigureAwait(false);
                }, () =>
                {
                    _checkpoint = position;
                    _sinceCheckpoint = 0;
                    _paused = true;
                });
                break;
            }

            case ResumeSubscription when !_paused:
                Reply(requester, "resume");
                Next();
                break;
            case ResumeSubscription:
                RunControlStep(requester, "resume", () => checkpoints.SetPausedAsync(name, false), () =>
                {
                    _paused = false;
                    StartStream();
                });
                break;
            case ResetSubscription { Position: < 0 } reset:
                requester.Tell(new SubscriptionOperationFailed(name, SubscriptionErrorCode.InvalidPosition, $"Position {reset.Position} is negative."));
                Next();
                break;
            case ResetSubscription reset:
                StopStream();
                RunControlStep(requester, "reset", async () =>
                {
                    // A position beyond the journal's head would pass over events that are not written yet.
                    var head = await _runtime.Head.JournalHeadAsync().ConfigureAwait(false);
                    if (reset.Position > head)
                    {
                        throw new InvalidSubscriptionPositionException($"Position {reset.Position} is beyond the journal's head ({head}): the events after the head are not written yet.");
                    }

                    await SubscriptionReset.MoveAsync(_runtime.Database, _definition, reset.Position, reset.Rerun).ConfigureAwait(false);
                }, () => MovedTo(reset.Position, null));
                break;
            case RebuildProjection when _definition.Kind != SubscriptionKind.Projection:
                requester.Tell(new SubscriptionOperationFailed(name, SubscriptionErrorCode.NotAProjection,
                    $"'{name}' feeds handlers, not a projector: there is no read model to rebuild. Use reset to replay its events."));
                Next();
                break;
            case RebuildProjection:
            {
                StopStream();
                long head = 0;
                RunControlStep(requester, "rebuild", async () =>
                {
                    head = (await _runtime.Head.LagAsync(_definition.Tag, 0).ConfigureAwait(false)).Head;
                    await using var scope = _runtime.Scopes.CreateAsyncScope();
                    var projector = (IProjector)ServiceActivation.Create(scope.ServiceProvider, _definition.ProjectorType!);
                    await using var db = _runtime.Database.Open();
                    await using var transaction = await db.BeginTransactionAsync().ConfigureAwait(false);
                    await projector.ClearAsync(db, CancellationToken.None).ConfigureAwait(false);
                    await CheckpointStore.MoveAsync(db, name, 0).ConfigureAwait(false);
                    await transaction.CommitAsync().ConfigureAwait(false);
                }, () => MovedTo(0, head > 0 ? head : null));
                break;
            }
        }
    }

    private void MovedTo(long position, long? rebuildTarget)
    {
        _position = _checkpoint = position;
        _sinceCheckpoint = 0;
        _rebuildTarget = rebuildTarget;
        _failures = 0;
        if (!_paused)
        {
            StartStream();
        }
    }

    private void RunControlStep(IActorRef requester, string operation, Func<Task> step, Action apply)
    {
        _busy = operation;
        step().PipeTo(Self, success: () => new ControlCompleted(apply, requester, operation),
            failure: error => new Failed(Step.Control, operation, error) { Requester = requester });
    }

    private void Completed(ControlCompleted completed)
    {
        _busy = null;
        completed.Apply();
        Reply(completed.Requester, completed.Operation);
        Next();
    }

    private void Reply(IActorRef requester, string operation)
    {
        var name = _definition.Name;
        ReplyStatus(requester, status => new SubscriptionOperationCompleted(name, operation, status));
    }

    private void ReplyStatus(IActorRef requester, Func<SubscriptionStatus, object> reply)
    {
        var live = new LiveFigures(
            !_loaded ? SubscriptionState.Starting
            : _paused ? SubscriptionState.Paused
            : _failures > Retry.MaxRetries ? SubscriptionState.Stalled
            : _rebuildTarget is not null ? SubscriptionState.Rebuilding
            : SubscriptionState.Running,
            _checkpoint, _position, _lastError, _lastErrorAt, _node, _processed, _poolLoad.Abandoned, _skippedGaps);
        SubscriptionStatusReader.ReadAsync(_definition, _profile, _runtime, live)
            .ContinueWith(task => reply(task.Result), TaskScheduler.Default)
            .PipeTo(requester);
    }

    private void Stop()
    {
        _stopping = true;
        StopStream();
        Timers.StartSingleTimer(TickKind.HandOverDeadline, new Tick(TickKind.HandOverDeadline), _runtime.Options.HandOverTimeout);
        while (_controls.TryDequeue(out var control))
        {
            control.Requester.Tell(new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.Unreachable,
                $"Subscription '{_definition.Name}' is handing over to another node; try again in a moment."));
        }

        Next();
    }

    /// <summary>Hand-over: nothing runs any more; store the position reached, then stop.</summary>
    private void FinishStopping()
    {
        if (_position != _checkpoint)
        {
            WriteCheckpoint();
            return;
        }

        _log.Info("Subscription {0} stopped at position {1} (hand-over)", _definition.Name, _checkpoint);
        Context.Stop(Self);
    }

    private enum TickKind
    {
        IdleCheckpoint,
        RestartStream,
        RetryBatch,
        Reload,
        HandOverDeadline,
    }

    private sealed record Tick(TickKind Kind);

    private sealed record CheckpointLoaded(Checkpoint Checkpoint);

    private sealed record StreamStarted(int Generation);

    private sealed record StreamEnded(int Generation, Exception? Error);

    private sealed record JournalBatch(int Generation, IReadOnlyList<JournalEnvelope> Events);

    private sealed record StreamAck
    {
        public static StreamAck Instance { get; } = new();
    }

    /// <summary>A batch being handled: its id (the pool's request id), last journal position, and how many events it had.</summary>
    private sealed record InFlightBatch(long Id, int Generation, long LastOffset, int Events, int Received, IActorRef Sink);

    private sealed record BatchCommitted(InFlightBatch Batch);

    private sealed record CheckpointWritten(long Position, bool Stored);

    private sealed record ControlCompleted(Action Apply, IActorRef Requester, string Operation);

    /// <summary>What an asynchronous step was doing, which decides how its failure is handled.</summary>
    private enum Step
    {
        Load,
        Batch,
        Checkpoint,
        Control,
    }

    private sealed record Failed(Step Step, string What, Exception Error)
    {
        public IActorRef? Requester { get; init; }
    }
}

/// <summary>The stored checkpoint was moved by someone else while this instance worked from an older one.</summary>
/// <param name="subscription">Subscription name.</param>
/// <param name="expected">The position this instance expected.</param>
public sealed class CheckpointMovedException(string subscription, long expected)
    : Exception($"The checkpoint of '{subscription}' is no longer at {expected}.");

/// <summary>An operator asked for a position the subscription cannot take (beyond the journal's head).</summary>
internal sealed class InvalidSubscriptionPositionException(string message) : Exception(message);
