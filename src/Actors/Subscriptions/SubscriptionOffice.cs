using ActorEvents.Messages;
using ActorEvents.Actors.Internal;
using Akka.Actor;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>One subscription as the office sees it: its definition, its effective profile, and the proxy of its singleton (null where it does not run).</summary>
/// <param name="Definition">The subscription.</param>
/// <param name="Profile">Its effective profile.</param>
/// <param name="Instance">Proxy of its cluster singleton, or null when subscriptions are disabled.</param>
internal sealed record SubscriptionEntry(SubscriptionDefinition Definition, SubscriptionProfile Profile, IActorRef? Instance);

/// <summary>
/// The node's front desk for subscriptions (registered in the <see cref="Akka.Hosting.ActorRegistry"/>): status of one or
/// all, pause, resume, reset and rebuild. Requests go to each subscription's cluster singleton, wherever it runs; a
/// singleton that does not answer in time is reported from the database (<see cref="SubscriptionState.Unreachable"/>).
/// Every request gets a typed reply; an unknown name gets <see cref="SubscriptionOperationFailed"/>.
/// </summary>
public sealed class SubscriptionOffice : ReceiveActor
{
    private readonly IReadOnlyList<SubscriptionEntry> _subscriptions;
    private readonly SubscriptionRuntime _runtime;

    /// <summary>Creates the office.</summary>
    internal SubscriptionOffice(IReadOnlyList<SubscriptionEntry> subscriptions, SubscriptionRuntime runtime)
    {
        _subscriptions = subscriptions;
        _runtime = runtime;

        Receive<GetSubscriptionStatus>(request =>
        {
            var selected = request.Name is null ? _subscriptions : Find(request.Name) is { } one ? [one] : [];
            if (selected.Count == 0 && request.Name is not null)
            {
                Sender.Tell(SubscriptionRefusals.Unknown(request.Name));
                return;
            }

            Task.WhenAll(selected.Select(StatusAsync))
                .ContinueWith(task => new SubscriptionStatusReport(task.Result), TaskScheduler.Default)
                .PipeTo(Sender);
        });
        Receive<PauseSubscription>(request => Forward(request.Name, request));
        Receive<ResumeSubscription>(request => Forward(request.Name, request));
        Receive<ResetSubscription>(request => Forward(request.Name, request));
        Receive<RebuildProjection>(request => Forward(request.Name, request));
        Receive<ResolveProjectionDeadLetter>(request => Forward(request.Name, request));
    }

    /// <summary>Props of the office.</summary>
    internal static Props Props(IReadOnlyList<SubscriptionEntry> subscriptions, SubscriptionRuntime runtime) =>
        FactoryProducer<SubscriptionOffice>.Props(() => new SubscriptionOffice(subscriptions, runtime));

    private SubscriptionEntry? Find(string name) =>
        _subscriptions.FirstOrDefault(s => string.Equals(s.Definition.Name, name, StringComparison.OrdinalIgnoreCase));

    private async Task<SubscriptionStatus> StatusAsync(SubscriptionEntry entry)
    {
        if (entry.Instance is not { } instance)
        {
            return await SubscriptionStatusReader.ReadAsync(entry.Definition, entry.Profile, _runtime, null, SubscriptionState.Disabled).ConfigureAwait(false);
        }

        try
        {
            return await instance.Ask<SubscriptionStatus>(new GetSubscriptionStatus(entry.Definition.Name), _runtime.Options.StatusTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return await SubscriptionStatusReader.ReadAsync(entry.Definition, entry.Profile, _runtime, null).ConfigureAwait(false);
        }
    }

    private void Forward(string name, object request)
    {
        if (Find(name) is not { } entry)
        {
            Sender.Tell(SubscriptionRefusals.Unknown(name));
            return;
        }

        if (entry.Instance is not { } instance)
        {
            Sender.Tell(new SubscriptionOperationFailed(entry.Definition.Name, SubscriptionErrorCode.Disabled,
                "Subscriptions do not run on this cluster (ActorEvents:Subscriptions:Enabled is off, or the in-memory provider has no read journal)."));
            return;
        }

        var timeout = _runtime.Options.OperationTimeout;
        instance.Ask<object>(Renamed(request, entry.Definition.Name), timeout)
            .ContinueWith(task => task.IsCompletedSuccessfully
                ? task.Result
                : new SubscriptionOperationFailed(entry.Definition.Name, SubscriptionErrorCode.Unreachable,
                    $"Subscription '{entry.Definition.Name}' did not answer within {timeout.TotalSeconds:0} s (its node may be starting or handing it over); try again."),
                TaskScheduler.Default)
            .PipeTo(Sender);
    }

    /// <summary>The request with the registered spelling of the name.</summary>
    private static object Renamed(object request, string name) => request switch
    {
        PauseSubscription => new PauseSubscription(name),
        ResumeSubscription => new ResumeSubscription(name),
        ResetSubscription reset => reset with { Name = name },
        RebuildProjection => new RebuildProjection(name),
        ResolveProjectionDeadLetter resolve => resolve with { Name = name },
        _ => request,
    };
}
