using ActorEvents.Actors.Configuration;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>See <see cref="Hosting.SubscriptionsClients.ForTables"/>. Refusals are the office's: the same codes for the same requests.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Its SemaphoreSlim never creates a wait handle, so there is nothing to dispose.")]
internal sealed class TableSubscriptionsClient(IReadOnlyList<SubscriptionDefinition> subscriptions, ActorEventsOptions options, SubscriptionRuntime runtime) : ISubscriptionsClient
{
    private readonly SemaphoreSlim _initialization = new(1, 1);
    private bool _initialized;

    public async Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        var selected = name is null ? subscriptions : [Find(name)];
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<SubscriptionStatus>(selected.Count);
        foreach (var definition in selected)
        {
            statuses.Add(await ReadAsync(definition).ConfigureAwait(false));
        }

        return statuses;
    }

    public Task<SubscriptionOperationCompleted> PauseAsync(string name, CancellationToken cancellationToken = default) =>
        OperateAsync(Find(name), "pause", definition => runtime.Checkpoints.SetPausedAsync(definition.Name, true, cancellationToken), cancellationToken);

    public Task<SubscriptionOperationCompleted> ResumeAsync(string name, CancellationToken cancellationToken = default) =>
        OperateAsync(Find(name), "resume", definition => runtime.Checkpoints.SetPausedAsync(definition.Name, false, cancellationToken), cancellationToken);

    public Task<SubscriptionOperationCompleted> ResetAsync(string name, long position = 0, bool rerun = false, CancellationToken cancellationToken = default)
    {
        var definition = Find(name);
        if (position < 0)
        {
            throw new SubscriptionOperationException(SubscriptionRefusals.NegativePosition(definition.Name, position));
        }

        return OperateAsync(definition, "reset", found =>
            SubscriptionReset.MoveWithinHeadAsync(runtime.Head, runtime.Database, found, position, rerun, cancellationToken), cancellationToken);
    }

    public Task<SubscriptionOperationCompleted> RebuildAsync(string name, CancellationToken cancellationToken = default)
    {
        var definition = Find(name);
        if (definition.Kind != SubscriptionKind.Projection)
        {
            throw new SubscriptionOperationException(SubscriptionRefusals.NotAProjection(definition.Name));
        }

        return OperateAsync(definition, "rebuild", found => SubscriptionReset.ClearProjectionAsync(runtime.Scopes, runtime.Database, found, cancellationToken), cancellationToken);
    }

    /// <summary>Nothing runs here to catch up: the status as stored.</summary>
    public Task<IReadOnlyList<SubscriptionStatus>> WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        StatusAsync(cancellationToken: cancellationToken);

    private async Task<SubscriptionOperationCompleted> OperateAsync(SubscriptionDefinition definition, string operation, Func<SubscriptionDefinition, Task> step,
        CancellationToken cancellationToken)
    {
        if (!runtime.Database.IsAvailable)
        {
            throw new SubscriptionOperationException(new SubscriptionOperationFailed(definition.Name, SubscriptionErrorCode.Disabled,
                "The in-memory provider keeps no tables: there is nothing to change without a running node."));
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The checkpoint row exists before the flag or the position is written to it.
            await runtime.Checkpoints.LoadAsync(definition.Name, cancellationToken).ConfigureAwait(false);
            await step(definition).ConfigureAwait(false);
        }
        catch (InvalidSubscriptionPositionException e)
        {
            throw new SubscriptionOperationException(new SubscriptionOperationFailed(definition.Name, SubscriptionErrorCode.InvalidPosition, e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new SubscriptionOperationException(new SubscriptionOperationFailed(definition.Name, SubscriptionErrorCode.Failed,
                $"{operation} failed: {e.GetBaseException().Message}"));
        }

        return new SubscriptionOperationCompleted(definition.Name, operation, await ReadAsync(definition).ConfigureAwait(false));
    }

    private Task<SubscriptionStatus> ReadAsync(SubscriptionDefinition definition) =>
        SubscriptionStatusReader.ReadAsync(definition, SubscriptionProfiles.Effective(definition, options.Subscriptions), runtime, null, SubscriptionState.NotRunning);

    private SubscriptionDefinition Find(string name) =>
        subscriptions.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new SubscriptionOperationException(SubscriptionRefusals.Unknown(name));

    /// <summary>ActorEvents' tables (checkpoints, processed events, dead letters), created as a node would create them (idempotent), once.</summary>
    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_initialized || !runtime.Database.IsAvailable)
        {
            return;
        }

        await _initialization.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await runtime.Database.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initialization.Release();
        }
    }
}
