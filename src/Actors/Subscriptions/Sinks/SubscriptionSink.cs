using ActorEvents.Messages;

namespace ActorEvents.Actors.Subscriptions.Sinks;

/// <summary>One event of a batch, with its position in the journal.</summary>
/// <param name="Position">Its ordering.</param>
/// <param name="Envelope">The event (an <see cref="UndecodableEvent"/> when its row cannot be decoded).</param>
internal readonly record struct SourcedEvent(long Position, EventEnvelope Envelope);

/// <summary>A batch for a sink.</summary>
/// <param name="Id">Unique per subscription instance.</param>
/// <param name="From">The stored checkpoint the batch starts from (a sink that stores the checkpoint moves it from here).</param>
/// <param name="To">The position the batch ends at.</param>
/// <param name="Events">Its events, in journal order.</param>
internal sealed record SubscriptionBatch(long Id, long From, long To, IReadOnlyList<SourcedEvent> Events);

/// <summary>What a sink reports of a batch it finished: the events it gave up on (dead-lettered), for the log and status.</summary>
/// <param name="GaveUp">One line per event given up on.</param>
internal sealed record BatchReport(IReadOnlyList<string> GaveUp)
{
    /// <summary>Nothing to report.</summary>
    public static BatchReport Clean { get; } = new([]);
}

/// <summary>
/// Where a subscription's events go: a handler pool, or a projector. A batch is finished when the task completes: every
/// event handled, dead-lettered or parked behind a dead letter (and recorded on it), so that the checkpoint may pass it.
/// A failed task means the batch is to be delivered again.
/// </summary>
internal interface ISubscriptionSink
{
    /// <summary>True when the sink stores the checkpoint itself, in the transaction of each batch.</summary>
    bool StoresCheckpoint { get; }

    /// <summary>Reads what the sink needs before its first batch (e.g. the aggregates parked behind its dead letters).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Delivers a batch.</summary>
    Task<BatchReport> DeliverAsync(SubscriptionBatch batch, CancellationToken cancellationToken);
}
