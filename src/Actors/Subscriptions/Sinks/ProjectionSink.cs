using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Subscriptions.Sinks;

/// <summary>
/// Feeds a projector: each batch is applied in one transaction that also moves the projection's checkpoint, so an
/// event is applied exactly once. An event the projector keeps failing on (after the retry policy's retries, at once
/// when the error is permanent or the event cannot be decoded) is dead-lettered as the pair (event, projection) and the
/// projection goes on; the later events of that aggregate are parked behind it — recorded on the dead letter before the
/// checkpoint passes them — until it is replayed or skipped (<see cref="ResolveAsync"/>), which applies them in order,
/// in the transaction that removes the entry.
/// </summary>
internal sealed class ProjectionSink(SubscriptionDefinition definition, SubscriptionRuntime runtime) : ISubscriptionSink
{
    private readonly Dictionary<(string Type, string Id), DeadLetterKey> _parked = new();
    private FailingEvent? _failing;

    private RetryOptions Retry => runtime.Pipeline.Retry;

    private IDeadLetterStore DeadLetters => runtime.DeadLetters;

    /// <inheritdoc />
    public bool StoresCheckpoint => true;

    /// <summary>Aggregates held back behind a dead letter of this projection.</summary>
    public int ParkedAggregates => _parked.Count;

    /// <inheritdoc />
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        _parked.Clear();
        _failing = null;
        foreach (var key in await DeadLetters.OpenKeysAsync([definition.Name], cancellationToken).ConfigureAwait(false))
        {
            _parked.TryAdd((key.AggregateType, key.AggregateId), key); // oldest first: the first entry of an aggregate holds its followers
        }
    }

    /// <inheritdoc />
    public async Task<BatchReport> DeliverAsync(SubscriptionBatch batch, CancellationToken cancellationToken)
    {
        // Dead letters and parked followers are written before the batch's transaction opens (SQLite has one write lock),
        // and before its checkpoint can pass them; a crash in between writes them again on redelivery, idempotently.
        var gaveUp = new List<string>();
        var apply = new List<SourcedEvent>(batch.Events.Count);
        foreach (var sourced in batch.Events)
        {
            var envelope = sourced.Envelope;
            var key = (envelope.AggregateType, envelope.AggregateId);
            if (_parked.TryGetValue(key, out var entry))
            {
                if (entry.EventId == envelope.EventId
                    || await DeadLetters.AddFollowerAsync(entry.Id, envelope, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                _parked.Remove(key); // the entry was resolved elsewhere: this aggregate flows again
            }

            if (GiveUpOn(envelope) is { } failing)
            {
                var id = await DeadLetters.AddAsync(new NewDeadLetter(definition.Name, envelope, failing.Failure, failing.Attempts, failing.FirstFailureAt),
                    cancellationToken).ConfigureAwait(false);
                _parked[key] = new DeadLetterKey(id, definition.Name, envelope.AggregateType, envelope.AggregateId, envelope.EventId);
                _failing = null;
                gaveUp.Add($"{definition.Name} gave up on {envelope.EventType} {envelope.EventId} ({envelope.StreamName} #{envelope.SequenceNr}) after "
                    + $"{failing.Attempts} attempt(s): {failing.Failure} (dead letter {id}; its aggregate's later events are parked behind it)");
                continue;
            }

            apply.Add(sourced);
        }

        try
        {
            await ApplyAsync(batch.From, batch.To, apply, moveCheckpoint: true, deadLetterId: null, cancellationToken).ConfigureAwait(false);
        }
        catch (ProjectedEventFailedException failed)
        {
            var error = failed.InnerException!;
            _failing = _failing is { } previous && previous.EventId == failed.Envelope.EventId
                ? previous with { Attempts = previous.Attempts + 1, Failure = HandlerFailure.From(error, Retry.IsPermanent(error)) }
                : new FailingEvent(failed.Envelope.EventId, 1, DateTimeOffset.UtcNow, HandlerFailure.From(error, Retry.IsPermanent(error)));
            throw;
        }

        return gaveUp.Count == 0 ? BatchReport.Clean : new BatchReport(gaveUp);
    }

    /// <summary>
    /// Replays (applies the dead-lettered event, then its parked followers) or skips (applies only the followers) one of
    /// this projection's dead letters, in one transaction that also removes the entry; the checkpoint does not move, and
    /// the projector sees <paramref name="checkpoint"/> as the position. On failure nothing is applied and the entry stays
    /// (a failed replay raises its attempt count). Returns the reply for the operator.
    /// </summary>
    public async Task<object> ResolveAsync(long id, bool replay, long checkpoint, CancellationToken cancellationToken)
    {
        if (await DeadLetters.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } entry || entry.Handler != definition.Name)
        {
            return new DeadLetterOperationFailed(id, $"Projection '{definition.Name}' has no dead letter with id {id}.");
        }

        var events = (replay ? [entry.Envelope, .. entry.ParkedFollowers] : entry.ParkedFollowers)
            .Select(e => new SourcedEvent(checkpoint, e)).ToArray();
        try
        {
            await ApplyAsync(checkpoint, checkpoint, events, moveCheckpoint: false, deadLetterId: id, cancellationToken).ConfigureAwait(false);
        }
        catch (ProjectedEventFailedException failed)
        {
            var error = failed.InnerException!;
            var what = failed.Envelope.EventId == entry.Envelope.EventId ? "the event" : $"parked follower {failed.Envelope.EventId}";
            var reason = $"{what} failed again: {error.GetType().Name}: {error.Message}";
            if (replay)
            {
                await DeadLetters.RecordFailureAsync(id, HandlerFailure.From(error, Retry.IsPermanent(error)), entry.Attempts + 1, cancellationToken)
                    .ConfigureAwait(false);
                return new DeadLetterReplayed(id, false, 0, reason);
            }

            return new DeadLetterOperationFailed(id, $"Skipping failed: {reason}; the entry stays.");
        }

        _parked.Remove((entry.Envelope.AggregateType, entry.Envelope.AggregateId));
        return replay ? new DeadLetterReplayed(id, true, entry.ParkedFollowers.Count, null) : new DeadLetterSkipped(id, entry.ParkedFollowers.Count);
    }

    /// <summary>Skips every dead letter of this projection (a purge), oldest first; returns how many were removed.</summary>
    public async Task<int> PurgeAsync(long checkpoint, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var entry in await DeadLetters.OpenKeysAsync([definition.Name], cancellationToken).ConfigureAwait(false))
        {
            if (await ResolveAsync(entry.Id, replay: false, checkpoint, cancellationToken).ConfigureAwait(false) is DeadLetterSkipped)
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Whether to dead-letter this event now rather than apply it.</summary>
    private FailingEvent? GiveUpOn(EventEnvelope envelope)
    {
        if (envelope.Event is UndecodableEvent undecodable)
        {
            return new FailingEvent(envelope.EventId, 0, DateTimeOffset.UtcNow,
                HandlerFailure.From(new Pipeline.UndecodableEventException(envelope, undecodable), permanent: true));
        }

        return _failing is { } failing && failing.EventId == envelope.EventId && (failing.Failure.Permanent || failing.Attempts > Retry.MaxRetries)
            ? failing
            : null;
    }

    /// <summary>One transaction: the checkpoint's move (or the entry's removal), then the events through the projector.</summary>
    private async Task ApplyAsync(long from, long to, IReadOnlyList<SourcedEvent> events, bool moveCheckpoint, long? deadLetterId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Retry.InvocationTimeout);
        var token = timeout.Token;
        await using var db = runtime.Database.Open();
        await using var transaction = await runtime.Database.BeginCheckpointedUnitOfWorkAsync(db, token).ConfigureAwait(false);
        // First, so that the row stays locked until commit and a second instance (a node wrongly thought dead) cannot apply the same batch.
        if (moveCheckpoint && !await CheckpointStore.AdvanceAsync(db, definition.Name, from, to, token).ConfigureAwait(false))
        {
            throw new CheckpointMovedException(definition.Name, from);
        }

        if (deadLetterId is { } id && !await SqlDeadLetterStore.DeleteAsync(db, id, token).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"Dead letter {id} was resolved meanwhile by someone else.");
        }

        if (events.Count > 0)
        {
            await using var scope = runtime.Scopes.CreateAsyncScope();
            var projector = (IProjector)ServiceActivation.Create(scope.ServiceProvider, definition.ProjectorType!);
            var context = new ProjectionContext(definition.Name, db, from, token);
            foreach (var (position, envelope) in events)
            {
                context.Position = position;
                try
                {
                    if (envelope.Event is UndecodableEvent undecodable)
                    {
                        throw new InvalidOperationException($"'{undecodable.TypeName}' still cannot be decoded: {undecodable.Reason}");
                    }

                    await projector.ProjectAsync(envelope, context).ConfigureAwait(false);
                }
                catch (Exception error) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new ProjectedEventFailedException(envelope, error);
                }
            }
        }

        await transaction.CommitAsync(token).ConfigureAwait(false);
    }

    /// <summary>The event the last attempt failed on, and how often it failed in a row.</summary>
    private sealed record FailingEvent(string EventId, int Attempts, DateTimeOffset FirstFailureAt, HandlerFailure Failure);
}

/// <summary>The projector failed on one event of a batch (the batch's transaction rolled back).</summary>
/// <param name="envelope">The event.</param>
/// <param name="error">What the projector threw.</param>
internal sealed class ProjectedEventFailedException(EventEnvelope envelope, Exception error)
    : Exception($"Projecting {envelope.EventType} {envelope.EventId} ({envelope.StreamName} #{envelope.SequenceNr}) failed: {error.GetType().Name}: {error.Message}", error)
{
    /// <summary>The event.</summary>
    public EventEnvelope Envelope { get; } = envelope;
}
