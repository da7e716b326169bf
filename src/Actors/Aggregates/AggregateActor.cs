using System.Diagnostics;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorEvents.Actors.Aggregates;

/// <summary>Runtime settings of aggregate entities.</summary>
/// <param name="SnapshotEvery">Save a snapshot every this many events (0 = never).</param>
/// <param name="DeduplicationWindow">Most recent commands each aggregate remembers for de-duplication (the memory bound).</param>
/// <param name="SourceNode">Address of this node, stamped on every event.</param>
/// <param name="DeduplicationRetention">How long a command is remembered (null: 10 minutes; zero: only the count bounds it).</param>
internal sealed record AggregateRuntimeSettings(int SnapshotEvery, int DeduplicationWindow, string SourceNode, TimeSpan? DeduplicationRetention = null)
{
    /// <summary>
    /// The node's event sink (its request handler pool), told <see cref="EventsPersisted"/> after every persist and
    /// <see cref="DrainAggregate"/> when the entity stops (null: the events are not dispatched; <see cref="NoEventSink"/> answers).
    /// </summary>
    public IActorRef? EventSink { get; init; }

    /// <summary>Longest a stopping entity waits for its events' handlers on this node before it stops all the same.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The default of <see cref="DeduplicationRetention"/>.</summary>
    public static readonly TimeSpan DefaultDeduplicationRetention = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Hosts one aggregate instance: recovers its state from snapshot + events, decides commands with the
/// user's pure functions, persists each command's events atomically with <c>PersistAll</c>, applies them
/// and replies with one <see cref="CommandResult"/>. Stops only on <see cref="AggregateStop"/> (idle
/// passivation and shard hand-off) or on a journal failure, after which its backoff supervisor restarts it.
/// </summary>
internal sealed partial class AggregateActor : ReceivePersistentActor
{
    private readonly IAggregateDefinition _definition;
    private readonly MessageTypeRegistry _registry;
    private readonly AggregateRuntimeSettings _settings;
    private readonly IActorRef _sink;
    private readonly string _aggregateId;
    private readonly RecentCommands _recent;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private object _state;
    private PendingCommand? _pending;

    // Whether any event was ever persisted. Not LastSequenceNr > 0: a journal rejection consumes sequence numbers too.
    private bool _exists;

    // Writes of earlier incarnations whose outcome was unknown: settled once recovery completed.
    private readonly IReadOnlyList<UnconfirmedWrite> _unconfirmed;

    // Recovery passes over every snapshot (an earlier incarnation was offered one that cannot be read).
    private readonly bool _fromEventsOnly;

    // The snapshot offered cannot be read: this incarnation ends after recovery and the next rebuilds from the events.
    private string? _unreadableSnapshot;

    /// <summary>Creates the actor for one aggregate instance.</summary>
    public AggregateActor(IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId)
        : this(definition, registry, settings, aggregateId, [])
    {
    }

    /// <summary>Creates the actor for one aggregate instance that settles an earlier incarnation's unconfirmed writes after recovery.</summary>
    public AggregateActor(IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId,
        IReadOnlyList<UnconfirmedWrite> unconfirmed, bool fromEventsOnly = false)
    {
        _unconfirmed = unconfirmed;
        _fromEventsOnly = fromEventsOnly;
        _definition = definition;
        _registry = registry;
        _settings = settings;
        _sink = NoEventSink.OrNone(settings.EventSink, Context.System);
        _aggregateId = aggregateId;
        _state = definition.InitialState;
        _recent = new RecentCommands(settings.DeduplicationWindow, settings.DeduplicationRetention ?? AggregateRuntimeSettings.DefaultDeduplicationRetention);
        PersistenceId = StreamNames.For(definition.Name, aggregateId);

        Recover<SnapshotOffer>(offer =>
        {
            var snapshot = (AggregateSnapshot)offer.Snapshot;
            if (snapshot.State is UnreadableSnapshot unreadable)
            {
                _unreadableSnapshot = $"{unreadable.Reason} (snapshot at {offer.Metadata.SequenceNr})";
                return;
            }

            _state = snapshot.State;
            _exists = true;
            _lastSnapshotSequenceNr = offer.Metadata.SequenceNr;
            _recent.Load(snapshot);
        });
        Recover<EventEnvelope>(Recovered);
        Recover<Tagged>(tagged => Recovered((EventEnvelope)tagged.Payload));
        Recover<RecoveryCompleted>(_ =>
        {
            if (_unreadableSnapshot is { } reason)
            {
                RebuildFromEvents(reason);
                return;
            }

            SettleUnconfirmedWrites();
        });

        Command<AggregateRequest>(Handle);
        Command<AggregateStop>(_ => Context.Stop(Self));
        ReceiveSnapshotOutcomes();
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public override Recovery Recovery => _fromEventsOnly ? new Recovery(SnapshotSelectionCriteria.None) : base.Recovery;

    /// <summary>Props of the bare entity actor.</summary>
    public static Props Props(IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId) =>
        Akka.Actor.Props.Create(() => new AggregateActor(definition, registry, settings, aggregateId));

    /// <summary>
    /// Props of a sharded entity: the aggregate under a supervisor that restarts it after a failure (e.g. a journal write
    /// failure) with exponential backoff between <paramref name="minBackoff"/> and <paramref name="maxBackoff"/>, answers
    /// with <see cref="RejectionCode.AggregateUnavailable"/> while it is down, restarts it at once after a journal
    /// rejection, hands writes of unknown outcome to the next incarnation, and stops for good on <see cref="AggregateStop"/>.
    /// </summary>
    public static Props SupervisedProps(
        IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId,
        TimeSpan minBackoff, TimeSpan maxBackoff) =>
        Akka.Actor.Props.Create(() => new AggregateSupervisor(
            (unconfirmed, fromEventsOnly) => Akka.Actor.Props.Create(() => new AggregateActor(definition, registry, settings, aggregateId, unconfirmed, fromEventsOnly)),
            minBackoff, maxBackoff, new AggregateDrainSettings(settings.EventSink, definition.Name, aggregateId, settings.DrainTimeout)));

    /// <summary>
    /// After recovery: the events of an earlier incarnation's unconfirmed write that are in the journal did commit, and
    /// nobody ran their handlers; dispatch them now (before any new command), nobody waiting for the outcome.
    /// </summary>
    private void SettleUnconfirmedWrites()
    {
        if (_unconfirmed.Count == 0)
        {
            return;
        }

        foreach (var write in _unconfirmed)
        {
            var committed = _recent.TryGet(write.CommandId, out var stored) && stored.Count > 0
                && stored[0].EventId == write.Envelopes[0].EventId;
            if (!committed)
            {
                _log.Info("The unconfirmed write of command {0} to {1} is not in the journal: it was not written.", write.CommandId, PersistenceId);
                continue;
            }

            _log.Warning("The unconfirmed write of command {0} to {1} did commit ({2} events); dispatching them to their handlers now.",
                write.CommandId, PersistenceId, stored.Count);
            if (write.Pipeline is { } pipeline)
            {
                _sink.Tell(new EventsPersisted([.. stored], pipeline, null));
            }
        }

        Context.Parent.Tell(new UnconfirmedWritesSettled(_unconfirmed.Count));
    }

    /// <summary>
    /// A stored event, in today's shape: its upcasters may have made several events of it (applied in order, sharing its
    /// sequence number) or none (it was persisted all the same, so the aggregate exists).
    /// </summary>
    private void Recovered(EventEnvelope stored)
    {
        foreach (var envelope in _registry.Upcasters.Upcast(stored))
        {
            _state = _definition.Apply(_state, envelope.Event);
            _recent.Recovered(envelope);
        }

        _exists = true;
    }

    /// <summary>
    /// The snapshot recovery started from cannot be read (its state's shape changed): what was recovered is not the state.
    /// This incarnation hands its commands back and ends; the next recovers from the events alone (and snapshots anew).
    /// </summary>
    private void RebuildFromEvents(string reason)
    {
        _log.Warning("Aggregate {0}: {1}. Rebuilding its state from its events, passing over its snapshots.", PersistenceId, reason);
        Context.Parent.Tell(new AggregateIncarnationEnding(null, RestartAtOnce: true) { FromEventsOnly = true });
        Become(HandingBack);
    }

    private void Handle(AggregateRequest request)
    {
        if (request.Command is UnreadableCommand unreadable)
        {
            Reject(request, RejectionCode.UnregisteredType,
                $"This node cannot read command '{unreadable.TypeName}' v{unreadable.Version} ({unreadable.Reason}); nothing was persisted. "
                + "Retry once every node runs the version that knows it.");
            return;
        }

        if (_recent.TryGet(request.CommandId, out var previous))
        {
            Sender.Tell(new CommandAccepted(_definition.Name, _aggregateId, previous) { CommandId = request.CommandId, Duplicate = true });
            return;
        }

        var (decision, decideError) = AggregateRules.Decide(_definition, _aggregateId, _state, _exists, request.Command);
        if (decideError is not null)
        {
            _log.Error(decideError, "Decide of {0} threw for {1}", PersistenceId, request.Command.GetType().Name);
        }

        if (decision.RejectionCode is { } code)
        {
            Reject(request, code, decision.Reason ?? "Rejected.");
            return;
        }

        if (decision.Events.Count == 0)
        {
            Sender.Tell(new CommandAccepted(_definition.Name, _aggregateId, []) { CommandId = request.CommandId, HandlersCompleted = true });
            return;
        }

        var envelopes = new EventEnvelope[decision.Events.Count];
        var tagged = new Tagged[decision.Events.Count];
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < envelopes.Length; i++)
        {
            var @event = decision.Events[i];
            if (!_registry.TryGet(@event.GetType(), out var registered))
            {
                Reject(request, RejectionCode.UnregisteredType, $"{_registry.NotWritable(@event.GetType())} Nothing was persisted.");
                return;
            }

            envelopes[i] = new EventEnvelope(
                Guid.CreateVersion7().ToString("N"), registered.Name, registered.Version, now, _settings.SourceNode,
                _definition.Name, _aggregateId, LastSequenceNr + i + 1, request.CorrelationId, request.CommandId,
                request.OriginStream, @event) { TraceParent = request.TraceParent };
            tagged[i] = new Tagged(envelopes[i], [AggregateTags.AggregatePrefix + _definition.Name, AggregateTags.EventPrefix + registered.Name]);
        }

        var persist = ActorEventsTelemetry.StartDetached(ActorEventsTelemetry.Spans.PersistPrefix + _definition.Name, ActivityKind.Internal, request.TraceParent);
        if (persist is { IsAllDataRequested: true })
        {
            persist.SetTag(ActorEventsTelemetry.Tags.AggregateType, _definition.Name);
            persist.SetTag(ActorEventsTelemetry.Tags.AggregateId, _aggregateId);
            persist.SetTag(ActorEventsTelemetry.Tags.CommandId, request.CommandId);
        }

        _pending = new PendingCommand(Sender, request, envelopes, persist);
        PersistAll(tagged, persisted =>
        {
            var envelope = (EventEnvelope)persisted.Payload;
            _state = _definition.Apply(_state, envelope.Event);
            _exists = true;
            if (_pending is { } pending && ReferenceEquals(envelope, pending.Envelopes[^1]))
            {
                _pending = null;
                ActorEventsTelemetry.EventsPersistedCounter.Add(pending.Envelopes.Length,
                    new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.AggregateType, _definition.Name));
                ActorEventsTelemetry.StopDetached(pending.Persist);
                _recent.Applied(pending.CommandId, pending.Envelopes);
                Persisted(pending);
                MaybeSnapshot();
            }
        });
    }

    /// <summary>
    /// Hands a persisted command's events, with its answer, to the node's event sink, which answers: once the pool took them
    /// (<see cref="ReplyMode.AfterPersist"/>), or once the handlers finished. A command without a pipeline is answered here.
    /// </summary>
    private void Persisted(PendingCommand pending)
    {
        var accepted = new CommandAccepted(_definition.Name, _aggregateId, pending.Envelopes) { CommandId = pending.CommandId };
        var request = pending.Request;
        if (request.Pipeline is not { } pipeline)
        {
            pending.ReplyTo.Tell(accepted);
            return;
        }

        _sink.Tell(new EventsPersisted(pending.Envelopes, pipeline,
            new AwaitedReply(pending.ReplyTo, accepted, request.HandlersDeadline, AfterHandlers: request.AwaitHandlers)));
    }

    private sealed record PendingCommand(IActorRef ReplyTo, AggregateRequest Request, EventEnvelope[] Envelopes, Activity? Persist)
    {
        public string CommandId => Request.CommandId;
    }
}
