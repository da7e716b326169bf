using ActorEvents.Actors.Configuration;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Status and control of subscriptions for code that is not an actor (the host CLI, the demo summary). It asks the
/// node's <see cref="SubscriptionOffice"/>; a refused request comes back as <see cref="SubscriptionOperationException"/>
/// carrying the office's typed <see cref="SubscriptionOperationFailed"/>.
/// </summary>
public interface ISubscriptionsClient
{
    /// <summary>Status of every subscription, or of one.</summary>
    Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(string? name = null, CancellationToken cancellationToken = default);

    /// <summary>Pauses a subscription.</summary>
    Task<SubscriptionOperationCompleted> PauseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused subscription.</summary>
    Task<SubscriptionOperationCompleted> ResumeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Moves a subscription's checkpoint; with <paramref name="rerun"/> its handlers run the events after it again (see <see cref="ResetSubscription"/>).</summary>
    Task<SubscriptionOperationCompleted> ResetAsync(string name, long position = 0, bool rerun = false, CancellationToken cancellationToken = default);

    /// <summary>Rebuilds a projection from the start of the journal.</summary>
    Task<SubscriptionOperationCompleted> RebuildAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Waits until every subscription that runs has no lag (or <paramref name="timeout"/> passes) and returns the last status.</summary>
    Task<IReadOnlyList<SubscriptionStatus>> WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>A subscription request was refused.</summary>
/// <param name="failure">The office's answer.</param>
public sealed class SubscriptionOperationException(SubscriptionOperationFailed failure) : Exception(failure.Reason)
{
    /// <summary>The office's answer.</summary>
    public SubscriptionOperationFailed Failure { get; } = failure;
}

/// <summary>Asks the <see cref="SubscriptionOffice"/> registered in the actor registry.</summary>
internal sealed class SubscriptionsClient(IRequiredActor<SubscriptionOffice> office, IOptions<ActorEventsOptions> options) : ISubscriptionsClient
{
    private readonly TimeSpan _timeout = options.Value.Subscriptions.OperationTimeout + options.Value.Subscriptions.StatusTimeout;

    /// <inheritdoc />
    public async Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(string? name = null, CancellationToken cancellationToken = default) =>
        (await AskAsync<SubscriptionStatusReport>(new GetSubscriptionStatus(name), cancellationToken).ConfigureAwait(false)).Subscriptions;

    /// <inheritdoc />
    public Task<SubscriptionOperationCompleted> PauseAsync(string name, CancellationToken cancellationToken = default) =>
        AskAsync<SubscriptionOperationCompleted>(new PauseSubscription(name), cancellationToken);

    /// <inheritdoc />
    public Task<SubscriptionOperationCompleted> ResumeAsync(string name, CancellationToken cancellationToken = default) =>
        AskAsync<SubscriptionOperationCompleted>(new ResumeSubscription(name), cancellationToken);

    /// <inheritdoc />
    public Task<SubscriptionOperationCompleted> ResetAsync(string name, long position = 0, bool rerun = false, CancellationToken cancellationToken = default) =>
        AskAsync<SubscriptionOperationCompleted>(new ResetSubscription(name, position, rerun), cancellationToken);

    /// <inheritdoc />
    public Task<SubscriptionOperationCompleted> RebuildAsync(string name, CancellationToken cancellationToken = default) =>
        AskAsync<SubscriptionOperationCompleted>(new RebuildProjection(name), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SubscriptionStatus>> WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SubscriptionCatchUp.WaitAsync(this, timeout, TimeSpan.FromMilliseconds(100), cancellationToken);

    private async Task<T> AskAsync<T>(object request, CancellationToken cancellationToken)
    {
        var actor = await office.GetAsync(cancellationToken).ConfigureAwait(false);
        return await actor.Ask<object>(request, _timeout, cancellationToken).ConfigureAwait(false) switch
        {
            T reply => reply,
            SubscriptionOperationFailed failed => throw new SubscriptionOperationException(failed),
            var other => throw new InvalidOperationException($"The subscription office answered {other.GetType().Name}."),
        };
    }
}

/// <summary>The catch-up rule every <see cref="ISubscriptionsClient"/> waits by, wherever it reads the statuses from.</summary>
public static class SubscriptionCatchUp
{
    /// <summary>
    /// Whether every subscription that runs has no lag and is neither starting nor unreachable (a disabled, paused or
    /// not-running one needs no waiting).
    /// </summary>
    public static bool IsCaughtUp(IEnumerable<SubscriptionStatus> statuses) =>
        statuses.Where(s => s.State is not (SubscriptionState.Disabled or SubscriptionState.Paused or SubscriptionState.NotRunning))
            .All(s => s.LagEvents == 0 && s.State != SubscriptionState.Starting && s.State != SubscriptionState.Unreachable);

    /// <summary>Polls <paramref name="client"/> every <paramref name="poll"/> until <see cref="IsCaughtUp"/> (or <paramref name="timeout"/> passes); returns the last status.</summary>
    public static async Task<IReadOnlyList<SubscriptionStatus>> WaitAsync(ISubscriptionsClient client, TimeSpan timeout, TimeSpan poll, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var statuses = await client.StatusAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (IsCaughtUp(statuses) || DateTime.UtcNow > deadline)
            {
                return statuses;
            }

            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
        }
    }
}
