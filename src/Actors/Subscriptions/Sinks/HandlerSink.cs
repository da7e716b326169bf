using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Subscriptions.Sinks;

/// <summary>
/// Feeds a subscription's durable handlers through its <see cref="HandlerPool"/>: retries, the dead-letter store,
/// parking and per-aggregate order are the pool's. A batch is finished when the pool reports every item of it.
/// </summary>
internal sealed class HandlerSink(HandlerSubscriptionTable handlers, IActorRef pool) : ISubscriptionSink
{
    /// <inheritdoc />
    public bool StoresCheckpoint => false;

    /// <inheritdoc />
    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the pool reads its own dead letters

    /// <inheritdoc />
    public async Task<BatchReport> DeliverAsync(SubscriptionBatch batch, CancellationToken cancellationToken)
    {
        var items = new List<WorkItem>();
        foreach (var (_, envelope) in batch.Events)
        {
            foreach (var handler in HandlersOf(envelope))
            {
                items.Add(new WorkItem(batch.Id, envelope, handler, 0));
            }
        }

        if (items.Count == 0)
        {
            return BatchReport.Clean;
        }

        var done = await pool.Ask<DispatchCompleted>(replyTo => new EnqueueWork(batch.Id, items, replyTo), null, cancellationToken).ConfigureAwait(false);
        return new BatchReport(done.Outcomes.Where(o => o.Status is HandlerStatus.DeadLettered or HandlerStatus.Failed)
            .Select(o => $"{o.Handler} gave up on {o.EventType} {o.EventId}: {o.Error}").ToArray());
    }

    /// <summary>
    /// The handlers an event goes to. An undecodable event has no type to match: it goes to every handler whose stream
    /// filters it passes, each of which dead-letters it (and parks that aggregate's later events behind it).
    /// </summary>
    internal IReadOnlyList<HandlerDescriptor> HandlersOf(EventEnvelope envelope) => envelope.Event is UndecodableEvent
        ? handlers.Handlers.Where(h => h.PassesStreamFilters(envelope)).ToArray()
        : handlers.Match(envelope);
}
