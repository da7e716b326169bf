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
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Microsoft.Extensions.DependencyInjection;
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
internal sealed record SubscriptionRuntime(
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
internal sealed record StopSubscription
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
}
