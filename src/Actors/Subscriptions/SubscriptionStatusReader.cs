using ActorEvents.Messages;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>What only the running instance of a subscription knows.</summary>
/// <param name="State">Its state, before the dead letters are looked at.</param>
/// <param name="Checkpoint">The stored checkpoint.</param>
/// <param name="Position">The position processed so far (ahead of the checkpoint by less than the checkpoint interval).</param>
/// <param name="LastError">Its last error.</param>
/// <param name="LastErrorAt">When.</param>
/// <param name="Node">Its node.</param>
/// <param name="Processed">Events processed since it started.</param>
/// <param name="Abandoned">Handler invocations abandoned after outliving their timeout.</param>
/// <param name="SkippedGaps">Journal orderings passed over as permanent gaps.</param>
internal sealed record LiveFigures(SubscriptionState State, long Checkpoint, long Position, string? LastError, DateTimeOffset? LastErrorAt, string? Node, long Processed, long Abandoned = 0, long SkippedGaps = 0);

/// <summary>
/// Builds a <see cref="SubscriptionStatus"/>: the live figures of the running instance (or, when it is unreachable,
/// the stored checkpoint) with what the database says — head and lag of its source, redeliveries its handlers skipped,
/// their dead letters and the events parked behind them, each a COUNT or SUM query (no row is read). A database error
/// becomes the status's last error.
/// </summary>
internal static class SubscriptionStatusReader
{
    /// <summary>Reads the status; never throws.</summary>
    /// <param name="definition">The subscription.</param>
    /// <param name="profile">Its effective profile.</param>
    /// <param name="runtime">The node's subscription runtime.</param>
    /// <param name="live">The running instance's figures, or null when it did not answer.</param>
    /// <param name="fallbackState">State to report without live figures.</param>
    public static async Task<SubscriptionStatus> ReadAsync(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime,
        LiveFigures? live, SubscriptionState fallbackState = SubscriptionState.Unreachable)
    {
        var state = live?.State ?? fallbackState;
        long checkpoint = live?.Checkpoint ?? 0, position = live?.Position ?? 0, redeliveries = 0;
        var lag = new JournalLag(0, 0, 0);
        int deadLetters = 0, parked = 0;
        var (error, errorAt) = (live?.LastError, live?.LastErrorAt);
        try
        {
            if (!runtime.Database.IsAvailable)
            {
                return Build(definition, profile, state, 0, 0, lag, error, errorAt, live, 0, 0, 0);
            }

            if (live is null && await runtime.Checkpoints.FindAsync(definition.Name).ConfigureAwait(false) is { } stored)
            {
                checkpoint = position = stored.Position;
                state = stored.Paused && fallbackState != SubscriptionState.Disabled ? SubscriptionState.Paused : fallbackState;
            }

            lag = await runtime.Head.LagAsync(definition.Tag, position).ConfigureAwait(false);
            var handlers = definition.Handlers.Handlers.Select(h => h.Name).ToArray();
            redeliveries = await runtime.Guard.RedeliveriesAsync(handlers).ConfigureAwait(false);
            // A projection's dead letters are filed under its own name.
            string[] filedUnder = definition.Kind == SubscriptionKind.Projection ? [definition.Name] : handlers;
            if (filedUnder.Length > 0)
            {
                (deadLetters, parked) = await runtime.DeadLetters.CountAsync(filedUnder).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            (error, errorAt) = ($"reading the status from the database failed: {e.GetBaseException().Message}", DateTimeOffset.UtcNow);
        }

        if (state == SubscriptionState.Running && parked > 0)
        {
            state = SubscriptionState.Stalled;
            error = $"{parked} event(s) parked behind {deadLetters} dead letter(s); replay or skip them to release them" +
                (error is null ? string.Empty : $" (last error: {error})");
        }

        return Build(definition, profile, state, checkpoint, position, lag, error, errorAt, live, redeliveries, deadLetters, parked);
    }

    private static SubscriptionStatus Build(SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionState state, long checkpoint, long position, JournalLag lag,
        string? error, DateTimeOffset? errorAt, LiveFigures? live, long redeliveries, int deadLetters, int parked) =>
        new(definition.Name, definition.Kind, definition.Source, profile.Name, state, checkpoint, position, lag.Head, lag.Events,
            Math.Round(lag.Seconds, 3), error, errorAt, live?.Node, live?.Processed ?? 0, redeliveries, deadLetters, parked,
            profile.BatchSize, profile.CheckpointEvery, profile.PollInterval, definition.FedNames)
        { Abandoned = live?.Abandoned ?? 0, SkippedGaps = live?.SkippedGaps ?? 0 };
}
