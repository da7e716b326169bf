using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Cli.Offline;

/// <summary>
/// The dead-letter store of a database no cluster runs on: <see cref="ListAsync"/> and <see cref="InspectAsync"/> read the
/// table (no actor system); replay, replay-all, skip and purge run handler code, so they start a <see cref="ResolutionNode"/>
/// first (once a probe found no node of the configured cluster answering) and wait until the followers they release ran.
/// </summary>
internal sealed class TableDeadLetterAdmin(
    IDeadLetterStore store,
    NodeOptions node,
    Func<IReadOnlyDictionary<string, string?>, HostApplicationBuilder> createBuilder,
    IReadOnlyDictionary<string, string?> overrides) : IDeadLetterAdmin, IAsyncDisposable
{
    private ResolutionNode? _node;

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await store.ListAsync(filter, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeadLetter> InspectAsync(long id, CancellationToken cancellationToken = default)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await store.GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new DeadLetterOperationException(new DeadLetterOperationFailed(id, $"There is no dead letter with id {id}."));
    }

    public Task<DeadLetterReplayed> ReplayAsync(long id, CancellationToken cancellationToken = default) =>
        OnNodeAsync(admin => admin.ReplayAsync(id, cancellationToken), cancellationToken);

    public Task<DeadLettersReplayed> ReplayAllAsync(string handler, CancellationToken cancellationToken = default) =>
        OnNodeAsync(admin => admin.ReplayAllAsync(handler, cancellationToken), cancellationToken);

    public Task<DeadLetterSkipped> SkipAsync(long id, CancellationToken cancellationToken = default) =>
        OnNodeAsync(admin => admin.SkipAsync(id, cancellationToken), cancellationToken);

    public Task<DeadLettersPurged> PurgeAsync(CancellationToken cancellationToken = default) =>
        OnNodeAsync(admin => admin.PurgeAsync(cancellationToken), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<T> OnNodeAsync<T>(Func<IDeadLetterAdmin, Task<T>> operation, CancellationToken cancellationToken)
    {
        if (_node is null)
        {
            await RunningNodeProbe.EnsureNoneAnswersAsync(node, cancellationToken).ConfigureAwait(false);
            _node = await ResolutionNode.StartAsync(createBuilder, overrides).ConfigureAwait(false);
        }

        var result = await operation(_node.DeadLetters).ConfigureAwait(false);
        await _node.DrainAsync().ConfigureAwait(false);
        return result;
    }
}
