using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorEvents.Actors.Aggregates;

/// <summary>Runtime settings of aggregate entities.</summary>
/// <param name="SnapshotEvery">Save a snapshot every this many events (0 = never).</param>
/// <param name="DeduplicationWindow">How many recent command ids each aggregate remembers for de-duplication.</param>
/// <param name="SourceNode">Address of this node, stamped on every event.</param>
public sealed record AggregateRuntimeSettings(int SnapshotEvery, int DeduplicationWindow, string SourceNode);

/// <summary>
/// Hosts one aggregate instance: recovers its state from snapshot + events, decides commands with the
/// user's pure functions, persists each command's events atomically with <c>PersistAll</c>, applies them
/// and replies with one <see cref="CommandResult"/>. Stops only on <see cref="AggregateStop"/> (idle
/// passivation and shard hand-off) or on a journal failure, after which its backoff supervisor restarts it.
/// </summary>
public sealed class AggregateActor : ReceivePersistentActor
{
    /// <summary>Tag prefix for the aggregate type of an event.</summary>
    public const string AggregateTagPrefix = "aggregate:";

    /// <summary>Tag prefix for the event type of an event.</summary>
    public const string EventTagPrefix = "event:";

    private readonly IAggregateDefinition _definition;
    private readonly MessageTypeRegistry _registry;
    private readonly AggregateRuntimeSettings _settings;
    private readonly string _aggregateId;
    private readonly RecentCommandResults _recent;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private object _state;
    private long _lastSnapshotSequenceNr;
    private PendingCommand? _pending;

    // Whether any event was ever persisted. Not LastSequenceNr > 0: a journal rejection consumes sequence numbers too.
    private bool _exists;

    /// <summary>Creates the actor for one aggregate instance.</summary>
    public AggregateActor(IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId)
    {
        _definition = definition;
        _registry = registry;
        _settings = settings;
        _aggregateId = aggregateId;
        _state = definition.InitialState;
        _recent = new RecentCommandResults(settings.DeduplicationWindow);
        PersistenceId = StreamNames.For(definition.Name, aggregateId);

        Recover<SnapshotOffer>(offer =>
        {
            var snapshot = (AggregateSnapshot)offer.Snapshot;
            _state = snapshot.State;
            _exists = true;
            _lastSnapshotSequenceNr = offer.Metadata.SequenceNr;
            _recent.Load(snapshot.RecentCommandIds);
        });
        Recover<EventEnvelope>(Recovered);
        Recover<Tagged>(tagged => Recovered((EventEnvelope)tagged.Payload));

        Command<AggregateRequest>(Handle);
        Command<AggregateStop>(_ => Context.Stop(Self));
        Command<SaveSnapshotSuccess>(success =>
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure =>
            _log.Warning(failure.Cause, "Snapshot of {0} at {1} failed; recovery stays correct, only slower", PersistenceId, failure.Metadata.SequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure =>
            _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Props of the bare entity actor.</summary>
    public static Props Props(IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId) =>
        Akka.Actor.Props.Create(() => new AggregateActor(definition, registry, settings, aggregateId));

    /// <summary>
    /// Props of a sharded entity: the aggregate under a <see cref="BackoffSupervisor"/> that restarts it after a
    /// failure (e.g. a journal write failure), answers with <see cref="RejectionCode.AggregateUnavailable"/>
    /// while it is down, and stops for good on <see cref="AggregateStop"/>.
    /// </summary>
    public static Props SupervisedProps(
        IAggregateDefinition definition, MessageTypeRegistry registry, AggregateRuntimeSettings settings, string aggregateId,
        TimeSpan minBackoff, TimeSpan maxBackoff) =>
        BackoffSupervisor.Props(
            Backoff.OnStop(Props(definition, registry, settings, aggregateId), "aggregate", minBackoff, maxBackoff, 0.2, -1)
                .WithFinalStopMessage(message => message is AggregateStop)
                .WithReplyWhileStopped(new CommandRejected(RejectionCode.AggregateUnavailable,
                    "The aggregate is restarting after a failure; retry the command with the same command id.") { CommandId = string.Empty }));

    private void Recovered(EventEnvelope envelope)
    {
        _state = _definition.Apply(_state, envelope.Event);
        _exists = true;
        _recent.Record(envelope.CausationId, envelope);
    }

    private void Handle(AggregateRequest request)
    {
        if (_recent.TryGet(request.CommandId, out var previous))
        {
            Sender.Tell(new CommandAccepted(_definition.Name, _aggregateId, previous) { CommandId = request.CommandId, Duplicate = true });
            return;
        }

        var exists = _exists;
        var expectation = _definition.Expect(request.Command);
        if (expectation == CommandExpectation.MustExist && !exists)
        {
            Reject(request, RejectionCode.AggregateNotFound, $"{_definition.Name} '{_aggregateId}' does not exist.");
            return;
        }

        if (expectation == CommandExpectation.MustNotExist && exists)
        {
            Reject(request, RejectionCode.AggregateAlreadyExists, $"{_definition.Name} '{_aggregateId}' already exists.");
            return;
        }

        AggregateDecision decision;
        try
        {
            decision = _definition.Decide(_state, request.Command);
        }
        catch (Exception e)
        {
            _log.Error(e, "Decide of {0} threw for {1}", PersistenceId, request.Command.GetType().Name);
            Reject(request, RejectionCode.DomainRuleViolation, $"Decide failed: {e.GetType().Name}: {e.Message}");
            return;
        }

        if (decision.RejectionCode is { } code)
        {
            Reject(request, code, decision.Reason ?? "Rejected.");
            return;
        }

        if (decision.Events.Count == 0)
        {
            Sender.Tell(new CommandAccepted(_definition.Name, _aggregateId, []) { CommandId = request.CommandId });
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
                Reject(request, RejectionCode.UnregisteredType,
                    $"Event type '{@event.GetType().FullName}' is not registered; nothing was persisted.");
                return;
            }

            envelopes[i] = new EventEnvelope(
                Guid.CreateVersion7().ToString("N"), registered.Name, registered.Version, now, _settings.SourceNode,
                _definition.Name, _aggregateId, LastSequenceNr + i + 1, request.CorrelationId, request.CommandId,
                request.OriginStream, @event);
            tagged[i] = new Tagged(envelopes[i], [AggregateTagPrefix + _definition.Name, EventTagPrefix + registered.Name]);
        }

        _pending = new PendingCommand(Sender, request.CommandId, envelopes, request.Dispatch);
        PersistAll(tagged, persisted =>
        {
            var envelope = (EventEnvelope)persisted.Payload;
            _state = _definition.Apply(_state, envelope.Event);
            _exists = true;
            if (_pending is { } pending && ReferenceEquals(envelope, pending.Envelopes[^1]))
            {
                _pending = null;
                _recent.Record(pending.CommandId, pending.Envelopes);
                pending.ReplyTo.Tell(new CommandAccepted(_definition.Name, _aggregateId, pending.Envelopes) { CommandId = pending.CommandId });
                if (pending.Dispatch is { } dispatch)
                {
                    dispatch.Router.Tell(new DispatchEvents(dispatch.RequestId, pending.Envelopes, dispatch.CompletionTo, dispatch.Pipeline));
                }

                MaybeSnapshot();
            }
        });
    }

    private void MaybeSnapshot()
    {
        if (_settings.SnapshotEvery > 0 && LastSequenceNr - _lastSnapshotSequenceNr >= _settings.SnapshotEvery)
        {
            _lastSnapshotSequenceNr = LastSequenceNr;
            SaveSnapshot(new AggregateSnapshot(_state, _recent.Ids()));
        }
    }

    private void Reject(AggregateRequest request, RejectionCode code, string message) =>
        Sender.Tell(new CommandRejected(code, message) { CommandId = request.CommandId });

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            var code = cause is OpenCircuitException ? RejectionCode.JournalUnavailable : RejectionCode.NotPersisted;
            pending.ReplyTo.Tell(new CommandRejected(code,
                $"The journal failed to write the events of {PersistenceId} ({cause.GetType().Name}: {cause.Message}); nothing was persisted. Retry with the same command id.")
            { CommandId = pending.CommandId });
        }

        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            pending.ReplyTo.Tell(new CommandRejected(RejectionCode.PersistRejected,
                $"The journal rejected the events of {PersistenceId} ({cause.GetType().Name}: {cause.Message}); nothing was persisted.")
            { CommandId = pending.CommandId });
        }

        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason,
            "Recovery of aggregate {0} failed at event {1}: {2}. The entity stays down until its supervisor retries; commands get AggregateUnavailable.",
            PersistenceId, message switch { IPersistentRepresentation p => p.SequenceNr.ToString(), _ => "?" }, reason.Message);
        base.OnRecoveryFailure(reason, message);
    }

    private sealed record PendingCommand(IActorRef ReplyTo, string CommandId, EventEnvelope[] Envelopes, EventDispatch? Dispatch);
}

/// <summary>Bounded memory of the most recent commands an aggregate applied, for de-duplication of retries.</summary>
internal sealed class RecentCommandResults(int capacity)
{
    private readonly Dictionary<string, List<EventEnvelope>> _byId = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public void Load(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            Remember(id);
        }
    }

    public void Record(string commandId, EventEnvelope envelope) => Remember(commandId)?.Add(envelope);

    public void Record(string commandId, IEnumerable<EventEnvelope> envelopes) => Remember(commandId)?.AddRange(envelopes);

    public bool TryGet(string commandId, out IReadOnlyList<EventEnvelope> envelopes)
    {
        var found = _byId.TryGetValue(commandId, out var list);
        envelopes = list ?? [];
        return found;
    }

    public IReadOnlyList<string> Ids() => _order.ToArray();

    private List<EventEnvelope>? Remember(string commandId)
    {
        if (capacity <= 0)
        {
            return null;
        }

        if (_byId.TryGetValue(commandId, out var existing))
        {
            return existing;
        }

        var list = new List<EventEnvelope>();
        _byId[commandId] = list;
        _order.Enqueue(commandId);
        while (_order.Count > capacity)
        {
            _byId.Remove(_order.Dequeue());
        }

        return list;
    }
}
