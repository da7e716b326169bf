using ActorEvents.Actors.Subscriptions.Sinks;
using ActorEvents.Messages;
using Akka.Actor;
using JournalEnvelope = Akka.Persistence.Query.EventEnvelope;

namespace ActorEvents.Actors.Subscriptions;

internal sealed partial class SubscriptionActor
{
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
