using System.Diagnostics;
using System.Globalization;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorEvents.Actors.Aggregates;

// The aggregate's journal failures: a failed or rejected write, a failed recovery, and handing commands back after a rejection.
internal sealed partial class AggregateActor
{
    /// <summary>
    /// After a rejection, until the supervisor acknowledged: commands still in the mailbox go back to the supervisor, which
    /// holds them for the next incarnation; then the aggregate stops.
    /// </summary>
    private void HandingBack()
    {
        Command<AggregateRequest>(request => Context.Parent.Forward(request));
        Command<AggregateEndingAcknowledged>(_ => Context.Stop(Self));
        Command<AggregateStop>(stop => Context.Parent.Forward(stop));
        CommandAny(_ => { });
    }

    private void Reject(AggregateRequest request, RejectionCode code, string message) =>
        Sender.Tell(new CommandRejected(code, message) { CommandId = request.CommandId });

    /// <summary>
    /// The journal failed the write (Akka.Persistence stops the actor next). The reply says what is known: not written
    /// (the breaker was open, or the transaction rolled back), or unknown (anything else: the events may be in the
    /// journal) — then the next incarnation settles the write after its recovery.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            Failed(pending.Persist, cause);
            var reply = JournalOutcome.OfFailure(cause, PersistenceId);
            Context.Parent.Tell(new AggregateIncarnationEnding(
                reply.Code == RejectionCode.OutcomeUnknown ? new UnconfirmedWrite(pending.CommandId, pending.Envelopes, pending.Request.Pipeline) : null,
                RestartAtOnce: false));
            pending.ReplyTo.Tell(reply with { CommandId = pending.CommandId });
        }

        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>
    /// The journal rejected the write: nothing was written. The aggregate answers with the rejection's code and restarts
    /// at once, so that its next events continue the journal's sequence numbers without a gap.
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            Failed(pending.Persist, cause);
            Context.Parent.Tell(new AggregateIncarnationEnding(null, RestartAtOnce: true));
            pending.ReplyTo.Tell(JournalOutcome.OfRejection(cause, PersistenceId) with { CommandId = pending.CommandId });
            Become(HandingBack);
        }

        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (Unreadable(reason) is { } unreadable)
        {
            // Not a fault that passes: a stored event of a type or version this node does not know. No restart loop.
            _log.Error(reason,
                "Recovery of aggregate {0} failed at event {1}: a stored event cannot be read on this node ({2}). It is not restarted: "
                + "commands get UnreadableStream until it passivates; run the version of the domain that knows the event.",
                PersistenceId, message switch { IPersistentRepresentation p => p.SequenceNr.ToString(CultureInfo.InvariantCulture), _ => "?" }, unreadable);
            Context.Parent.Tell(new AggregateUnreadable(unreadable));
            base.OnRecoveryFailure(reason, message);
            return;
        }

        _log.Error(reason,
            "Recovery of aggregate {0} failed at event {1}: {2}. The entity stays down until its supervisor retries; commands get AggregateUnavailable.",
            PersistenceId, message switch { IPersistentRepresentation p => p.SequenceNr.ToString(CultureInfo.InvariantCulture), _ => "?" }, reason.Message);
        base.OnRecoveryFailure(reason, message);
    }

    private static void Failed(Activity? persist, Exception cause)
    {
        persist?.SetStatus(ActivityStatusCode.Error, cause.Message);
        persist?.SetTag(ActorEventsTelemetry.Tags.ErrorType, cause.GetType().FullName);
        ActorEventsTelemetry.StopDetached(persist);
    }

    /// <summary>What cannot be read, when a recovery failure is an event this node cannot deserialize.</summary>
    private static string? Unreadable(Exception reason)
    {
        for (var e = reason; e is not null; e = e.InnerException)
        {
            if (e is System.Runtime.Serialization.SerializationException or UnregisteredTypeException or System.Text.Json.JsonException)
            {
                return e.Message;
            }
        }

        return reason is AggregateException aggregate ? aggregate.InnerExceptions.Select(Unreadable).FirstOrDefault(m => m is not null) : null;
    }
}
