using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Persistence;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// Wiring of the read side: durable subscriptions and projections as cluster singletons, their checkpoints and the
/// processed-event record in the journal's database, read-model tables, and the <see cref="SubscriptionOffice"/>.
/// <see cref="ActorEventsHostingExtensions.AddActorEvents"/> calls both methods.
/// </summary>
public static class ReadSideHostingExtensions
{
    /// <summary>Prefix of the actor name of each subscription's singleton manager (<c>/user/subscription-{name}</c>).</summary>
    public const string ManagerPrefix = "subscription-";

    /// <summary>Actor name of the singleton manager of the <see cref="ProcessedEventPrunerActor"/> (<c>/user/processed-event-pruner</c>).</summary>
    public const string PrunerName = "processed-event-pruner";

    /// <summary>Registers the database view, the checkpoint store, the processed-event guard, the handlers' unit of work and <see cref="ISubscriptionsClient"/>.</summary>
    public static IServiceCollection AddActorEventsReadSide(this IServiceCollection services)
    {
        services.TryAddSingleton(provider => new ActorEventsDatabase(provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Persistence));
        services.TryAddSingleton<CheckpointStore>();
        services.TryAddSingleton<JournalHead>();
        services.TryAddSingleton(provider => new ProcessedEventGuard(provider.GetRequiredService<ActorEventsDatabase>(), provider.GetRequiredService<ActorEventsDomain>().Types));
        services.TryAddScoped<HandlerUnitOfWork>();
        services.TryAddSingleton<ISubscriptionsClient, SubscriptionsClient>();
        return services;
    }

    /// <summary>
    /// Starts one cluster singleton per subscription and the pruner of
    /// <c>ae_processed_events</c> (on nodes with <see cref="SubscriptionsOptions.Role"/>, if set), and the node's
    /// <see cref="SubscriptionOffice"/> (always, so status requests get an answer even where subscriptions do not run).
    /// </summary>
    public static AkkaConfigurationBuilder WithActorEventsSubscriptions(this AkkaConfigurationBuilder builder, ActorEventsOptions options, ActorEventsDomain domain)
    {
        builder.WithActors(async (system, registry, resolver) =>
        {
            var database = resolver.GetService<ActorEventsDatabase>();
            var checkpoints = resolver.GetService<CheckpointStore>();
            var scopes = resolver.GetService<IServiceScopeFactory>();
            var settings = options.Subscriptions;
            var runs = settings.Enabled && database.IsAvailable && domain.Subscriptions.Count > 0;
            Subscriptions.Sources.JournalHeadWatch.Get(system).Configure(settings.SharedJournalHead);
            if (!database.IsAvailable && domain.Subscriptions.Count > 0)
            {
                system.Log.Warning("The in-memory provider has no read journal: subscriptions {0} do not run here.",
                    string.Join(", ", domain.Subscriptions.Select(s => s.Name)));
            }

            var runtime = new SubscriptionRuntime(
                runs ? PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceHocon.ReadJournalPluginId) : null,
                checkpoints, resolver.GetService<JournalHead>(), database, resolver.GetService<ProcessedEventGuard>(), scopes,
                domain.Types, resolver.GetService<IDeadLetterStore>(), options.Pipeline, settings,
                TrustTransactionHorizon: options.Persistence.JournalWriter == JournalWriter.GroupCommit);
            var entries = domain.Subscriptions.Select(definition =>
            {
                var profile = SubscriptionProfiles.Effective(definition, settings);
                return new SubscriptionEntry(definition, profile, runs ? StartSingleton(system, definition, profile, runtime, settings.Role) : null);
            }).ToArray();
            registry.Register<SubscriptionOffice>(await ActorEventsRuntimeStart.StartChildAsync(registry.Get<ActorEventsRuntime>(), SubscriptionOffice.Props(entries, runtime), "subscriptions"));
            if (runs)
            {
                var pruner = new ProcessedEventPruner(database, domain.Subscriptions, settings.ProcessedEventRetention);
                system.ActorOf(ClusterSingletonManager.Props(ProcessedEventPrunerActor.Props(pruner, settings.ProcessedEventPruneInterval), PoisonPill.Instance,
                    ManagerSettings(system, settings.Role)), PrunerName);
            }
        });
        return builder;
    }

    private static IActorRef StartSingleton(ActorSystem system, SubscriptionDefinition definition, SubscriptionProfile profile, SubscriptionRuntime runtime, string? role)
    {
        var name = ManagerPrefix + definition.Name;
        var managerSettings = ManagerSettings(system, role);
        // Akka.Cluster.Tools 1.5.73 starts the proxy's identification-failure timer with no initial delay, so every
        // start and hand-over logs "failed to find an associated singleton … after 30 seconds" at once. The office
        // reports a subscription that does not answer as unreachable instead.
        var defaults = ClusterSingletonProxySettings.Create(system);
        var proxySettings = new ClusterSingletonProxySettings("instance", defaults.Role, defaults.SingletonIdentificationInterval, defaults.BufferSize,
            defaults.ConsiderAppVersion, logSingletonIdentificationFailure: false, defaults.SingletonIdentificationFailurePeriod);
        if (!string.IsNullOrWhiteSpace(role))
        {
            proxySettings = proxySettings.WithRole(role);
        }

        system.ActorOf(ClusterSingletonManager.Props(SubscriptionActor.Props(definition, profile, runtime), StopSubscription.Instance, managerSettings), name);
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}", proxySettings), name + "-proxy");
    }

    /// <summary>Settings of a singleton manager on the nodes with <paramref name="role"/> (any node when null).</summary>
    private static ClusterSingletonManagerSettings ManagerSettings(ActorSystem system, string? role)
    {
        var settings = ClusterSingletonManagerSettings.Create(system).WithSingletonName("instance");
        return string.IsNullOrWhiteSpace(role) ? settings : settings.WithRole(role);
    }
}
