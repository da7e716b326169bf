using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;

namespace ActorEvents.Actors.Supervision;

/// <summary>
/// The dead-letter store as an operator uses it: list, inspect, replay, skip, purge. Registered by <c>AddActorEvents</c>
/// (through the node's <see cref="DeadLetterOffice"/>); the admin CLI has one over HTTP too. A refusal (unknown id, a
/// projection that does not answer, the store failing) is a <see cref="DeadLetterOperationException"/>; a replay whose
/// handler fails again is an answer (<see cref="DeadLetterReplayed.Succeeded"/> false), not an exception.
/// </summary>
public interface IDeadLetterAdmin
{
    /// <summary>Entries matching <paramref name="filter"/>, oldest first.</summary>
    Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>One entry with its parked followers.</summary>
    Task<DeadLetter> InspectAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Runs the entry's handler again under its retry policy; success removes it and releases its parked followers.</summary>
    Task<DeadLetterReplayed> ReplayAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Replays every entry of <paramref name="handler"/>, oldest first.</summary>
    Task<DeadLettersReplayed> ReplayAllAsync(string handler, CancellationToken cancellationToken = default);

    /// <summary>Removes the entry without running it and releases its parked followers in order.</summary>
    Task<DeadLetterSkipped> SkipAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Removes every entry (each parked follower is released as by a skip).</summary>
    Task<DeadLettersPurged> PurgeAsync(CancellationToken cancellationToken = default);
}

/// <summary>A dead-letter request was refused.</summary>
/// <param name="failure">The answer.</param>
public sealed class DeadLetterOperationException(DeadLetterOperationFailed failure) : Exception(failure.Reason)
{
    /// <summary>The answer.</summary>
    public DeadLetterOperationFailed Failure { get; } = failure;
}

/// <summary><see cref="IDeadLetterAdmin"/> through the node's <see cref="DeadLetterOffice"/> (its replays run in this node's handler pools).</summary>
internal sealed class DeadLetterAdmin(IRequiredActor<DeadLetterOffice> office, Microsoft.Extensions.Options.IOptions<Configuration.ActorEventsOptions> options) : IDeadLetterAdmin
{
    // A replay-all runs one handler after another, each under its retry policy: the office's own replay timeout times four.
    private readonly TimeSpan _timeout = options.Value.Mediator.CommandTimeout * 16;

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default) =>
        (await AskAsync<DeadLetterList>(new ListDeadLetters(filter), cancellationToken).ConfigureAwait(false)).Entries;

    public async Task<DeadLetter> InspectAsync(long id, CancellationToken cancellationToken = default) =>
        (await AskAsync<DeadLetterFound>(new InspectDeadLetter(id), cancellationToken).ConfigureAwait(false)).Entry;

    public Task<DeadLetterReplayed> ReplayAsync(long id, CancellationToken cancellationToken = default) =>
        AskAsync<DeadLetterReplayed>(new ReplayDeadLetter(id), cancellationToken);

    public Task<DeadLettersReplayed> ReplayAllAsync(string handler, CancellationToken cancellationToken = default) =>
        AskAsync<DeadLettersReplayed>(new ReplayAllDeadLetters(handler), cancellationToken);

    public Task<DeadLetterSkipped> SkipAsync(long id, CancellationToken cancellationToken = default) =>
        AskAsync<DeadLetterSkipped>(new SkipDeadLetter(id), cancellationToken);

    public Task<DeadLettersPurged> PurgeAsync(CancellationToken cancellationToken = default) =>
        AskAsync<DeadLettersPurged>(new PurgeDeadLetters(), cancellationToken);

    private async Task<T> AskAsync<T>(object request, CancellationToken cancellationToken)
    {
        var actor = await office.GetAsync(cancellationToken).ConfigureAwait(false);
        return await actor.Ask<object>(request, _timeout, cancellationToken).ConfigureAwait(false) switch
        {
            T reply => reply,
            DeadLetterOperationFailed failed => throw new DeadLetterOperationException(failed),
            var other => throw new InvalidOperationException($"The dead-letter office answered {other.GetType().Name}."),
        };
    }
}
