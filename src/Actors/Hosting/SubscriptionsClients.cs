using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Hosting;

/// <summary>Clients of the subscriptions that need no running node.</summary>
public static class SubscriptionsClients
{
    /// <summary>
    /// A client that works on the tables of the configured database directly, from the services of a host that need not
    /// be started (no actor system, no subscription runs): status from the checkpoints and counts
    /// (<see cref="SubscriptionState.NotRunning"/> or <see cref="SubscriptionState.Paused"/>), pause and resume as the
    /// stored flag, reset and rebuild as the stored checkpoint and tables. A running subscription does not see such a
    /// change until it next starts: use it on a database no cluster runs on.
    /// </summary>
    /// <param name="services">Services of a host built with <c>AddActorEvents</c>.</param>
    public static ISubscriptionsClient ForTables(IServiceProvider services)
    {
        var domain = services.GetRequiredService<ActorEventsDomain>();
        var options = services.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
        return new TableSubscriptionsClient(domain.Subscriptions, options, new SubscriptionRuntime(null, services.GetRequiredService<CheckpointStore>(),
            services.GetRequiredService<JournalHead>(), services.GetRequiredService<ActorEventsDatabase>(), services.GetRequiredService<ProcessedEventGuard>(),
            services.GetRequiredService<IServiceScopeFactory>(), domain.Types, services.GetRequiredService<IDeadLetterStore>(), options.Pipeline,
            options.Subscriptions));
    }
}
