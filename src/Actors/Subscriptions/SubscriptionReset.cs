using ActorEvents.Actors.Subscriptions.Sources;
using ActorEvents.Actors.Projections;
using LinqToDB;
using LinqToDB.Data;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Internal;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// What an operator's reset stores. Without rerun it only moves the checkpoint: the events after it come again and
/// every guarded handler skips those it has a processed row for. With rerun it also deletes, in the same transaction,
/// the processed rows of the subscription's handlers for the events after the new position (those its source carries:
/// its tag, or every event), so those events run again, effects and follow-ups included.
/// </summary>
public static class SubscriptionReset
{
    /// <summary>
    /// <see cref="MoveAsync"/> after checking <paramref name="position"/> against the journal's head: a position beyond it
    /// would pass over events that are not written yet (<see cref="InvalidSubscriptionPositionException"/>).
    /// </summary>
    internal static async Task MoveWithinHeadAsync(JournalHead head, ActorEventsDatabase database, SubscriptionDefinition definition, long position, bool rerun,
        CancellationToken cancellationToken = default)
    {
        var last = await head.JournalHeadAsync(cancellationToken).ConfigureAwait(false);
        if (position > last)
        {
            throw new InvalidSubscriptionPositionException($"Position {position} is beyond the journal's head ({last}): the events after the head are not written yet.");
        }

        await MoveAsync(database, definition, position, rerun, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A projection's rebuild, as stored: its tables cleared by its projector and its checkpoint set to 0, in one transaction.</summary>
    internal static async Task ClearProjectionAsync(IServiceScopeFactory scopes, ActorEventsDatabase database, SubscriptionDefinition definition,
        CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var projector = (IProjector)ServiceActivation.Create(scope.ServiceProvider, definition.ProjectorType!);
        await using var db = database.Open();
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await projector.ClearAsync(db, cancellationToken).ConfigureAwait(false);
        await CheckpointStore.MoveAsync(db, definition.Name, 0, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves the checkpoint of <paramref name="definition"/> to <paramref name="position"/>; with <paramref name="rerun"/>, clears the rows of what follows.</summary>
    public static async Task MoveAsync(ActorEventsDatabase database, SubscriptionDefinition definition, long position, bool rerun, CancellationToken cancellationToken = default)
    {
        await using var db = database.Open();
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (rerun)
        {
            await DeleteProcessedAfterAsync(db, definition, position, cancellationToken).ConfigureAwait(false);
        }

        await CheckpointStore.MoveAsync(db, definition.Name, position, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the processed rows of the subscription's handlers for the journal events after <paramref name="position"/>
    /// that its source carries, and their rows written before rows were linked to the journal (which of their events they
    /// belong to is not known). Rows of follow-up events stay: a rerun parent emits its follow-ups under new ids, and the
    /// pruner deletes the old ones once no parent row is left. Returns how many it deleted.
    /// </summary>
    internal static async Task<int> DeleteProcessedAfterAsync(DataConnection db, SubscriptionDefinition definition, long position, CancellationToken cancellationToken)
    {
        var handlers = definition.Handlers.Handlers.Select(h => h.Name).ToArray();
        if (handlers.Length == 0)
        {
            return 0;
        }

        var after = db.GetTable<JournalTableRow>().Where(j => j.Ordering > position);
        if (definition.Tag is { } tag)
        {
            after = after.Where(j => db.GetTable<TagTableRow>().Any(t => t.OrderingId == j.Ordering && t.Tag == tag));
        }

        return await db.GetTable<ProcessedEventRow>()
            .Where(r => handlers.Contains(r.Handler)
                && (r.SequenceNr == null || r.SequenceNr > 0 && after.Any(j => j.PersistenceId == r.PersistenceId && j.SequenceNumber == r.SequenceNr)))
            .DeleteAsync(cancellationToken).ConfigureAwait(false);
    }
}
