using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Queries;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using System.Security.Cryptography.X509Certificates;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Persistence;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// Akka.Hosting wiring of ActorEvents, as chained extension methods driven by <see cref="ActorEventsOptions"/>.
/// The host and the tests call the same methods.
/// </summary>
public static class ActorEventsHostingExtensions
{
    /// <summary>
    /// One call for a Generic Host: binds and validates <see cref="ActorEventsOptions"/> from the <c>ActorEvents</c>
    /// section, builds the domain, registers <see cref="IActorEventsClient"/> and starts the actor system with
    /// node, persistence and runtime wiring. <paramref name="configureAkka"/> runs last (e.g. to add HOCON files).
    /// </summary>
    public static IServiceCollection AddActorEvents(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<ActorEventsDomainBuilder> configureDomain,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configureAkka = null)
    {
        var domainBuilder = new ActorEventsDomainBuilder();
        configureDomain(domainBuilder);
        var domain = domainBuilder.Build();

        services.AddOptions<ActorEventsOptions>()
            .Bind(configuration.GetSection(ActorEventsOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(options =>
            {
                _ = StorageConnection.ConnectionStringOf(options.Persistence);
                return true;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ActorEventsOptions>, NestedOptionsValidator>();
        services.AddSingleton(domain);
        services.AddSingleton<IActorEventsClient, ActorEventsClient>();
        services.AddSingleton<IDeadLetterAdmin, DeadLetterAdmin>();
        services.AddSingleton<EventPipelineLoad>();
        services.AddActorEventsReadSide();
        services.AddHealthChecks().AddActorEventsChecks();
        services.TryAddSingleton<IDeadLetterStore>(provider =>
            DeadLetterStores.Create(provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Persistence, domain.Types,
                provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Pipeline.DeadLetterResolutionLease));
        foreach (var (service, implementation) in domain.StreamingHandlers)
        {
            services.AddTransient(service, implementation);
        }

        // The database is prepared as awaited start-up work, before the actor system (hosted services start in order).
        services.AddHostedService<StorageStartup>();
        var systemName = configuration[$"{ActorEventsOptions.SectionName}:Node:ActorSystemName"] ?? new NodeOptions().ActorSystemName;
        services.AddAkka(systemName, (akka, provider) =>
        {
            var options = provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
            akka.WithActorEventsNode(options.Node)
                .WithActorEventsPersistence(options.Persistence)
                .WithActorEvents(options, domain)
                .WithActorEventsSubscriptions(options, domain)
                .WithActorSystemLivenessCheck();
            configureAkka?.Invoke(akka, provider);
        });
        return services;
    }

    /// <summary>
    /// Remoting on <see cref="NodeOptions.Hostname"/> (loopback by default) and clustering with keep-majority
    /// split-brain resolution. Without seed nodes the node joins itself: a one-node cluster.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorEventsNode(this AkkaConfigurationBuilder builder, NodeOptions node)
    {
        var remote = new RemoteOptions
        {
            HostName = node.Hostname,
            PublicHostName = node.PublicHostname ?? node.Hostname,
            Port = node.Port,
        };
        if (node.Tls.Enabled)
        {
            if (string.IsNullOrWhiteSpace(node.Tls.CertificatePath) || !File.Exists(node.Tls.CertificatePath))
            {
                throw new InvalidOperationException(
                    $"ActorEvents:Node:Tls:Enabled is on but ActorEvents:Node:Tls:CertificatePath ('{node.Tls.CertificatePath}') is not an existing .pfx file.");
            }

            remote.EnableSsl = true;
            var pinned = node.Tls.PinnedThumbprints.Where(t => !string.IsNullOrWhiteSpace(t)).ToArray();
            remote.Ssl = new SslOptions
            {
                X509Certificate = X509CertificateLoader.LoadPkcs12FromFile(node.Tls.CertificatePath, node.Tls.CertificatePassword),
                SuppressValidation = pinned.Length == 0 && node.Tls.AllowUntrustedCertificates,
                RequireMutualAuthentication = true,
                CustomValidator = pinned.Length > 0 ? Akka.Remote.Transport.DotNetty.CertificateValidation.PinnedCertificate(pinned) : null,
            };
        }

        builder.WithRemoting(remote);
        builder.WithClustering(new ClusterOptions
        {
            // With TLS the transport's scheme is akka.ssl.tcp; accept seeds written with the plain scheme too.
            SeedNodes = node.Tls.Enabled
                ? node.SeedNodes.Select(seed => seed.Replace("akka.tcp://", "akka.ssl.tcp://", StringComparison.Ordinal)).ToArray()
                : node.SeedNodes,
            Roles = node.Roles,
            SplitBrainResolver = new KeepMajorityOption(),
        });
        if (node.SeedNodes.Length == 0)
        {
            builder.AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress));
        }

        return builder;
    }

    /// <summary>
    /// Journal, snapshot store and read journal on the configured database (SQLite by default). The schema is not created
    /// here: <see cref="AddActorEvents"/> prepares the database before the actor system starts
    /// (<see cref="DatabaseSchema.EnsureCreatedAsync"/> for a host wired without it).
    /// </summary>
    public static AkkaConfigurationBuilder WithActorEventsPersistence(this AkkaConfigurationBuilder builder, PersistenceOptions persistence)
    {
        if (!StorageDialect.Of(persistence.Provider).HasDatabase)
        {
            return builder.WithInMemoryJournal().WithInMemorySnapshotStore();
        }


        return builder.AddHocon(PersistenceHocon.Build(persistence), HoconAddMode.Prepend);
    }

    /// <summary>
    /// The ActorEvents runtime: the closed-type-map serializer for every ActorEvents message, one shard region
    /// per aggregate type, the event pipeline (handler pools) and the command mediator (registered
    /// in the <see cref="ActorRegistry"/> under <see cref="CommandMediator"/> and <see cref="HandlerPool"/>).
    /// </summary>
    public static AkkaConfigurationBuilder WithActorEvents(this AkkaConfigurationBuilder builder, ActorEventsOptions options, ActorEventsDomain domain)
    {
        builder.WithCustomSerializer("actor-events", RuntimeWireFormats.BoundTypes, system => RuntimeWireFormats.Serializer(system, domain.Types));
        if (options.Node.RefuseUnboundMessages)
        {
            builder.AddHocon(UnboundMessageSerializer.Hocon, HoconAddMode.Prepend);
        }

        // The pipeline starts before the shard regions: every entity is given its node's event sink when it starts.
        builder.WithActors(async (system, registry, resolver) =>
        {
            Telemetry.ActorEventsTelemetry.EnsureCreated();
            var runtime = ActorEventsRuntimeStart.Start(system);
            registry.Register<ActorEventsRuntime>(runtime);
            var scopes = resolver.GetService<IServiceScopeFactory>();
            var load = resolver.GetService<EventPipelineLoad>();
            var deadLetters = resolver.GetService<IDeadLetterStore>();
            var node = Cluster.Get(system).SelfAddress.ToString();
            var pipeline = options.Pipeline;
            var inRequest = domain.Handlers.For(HandlerDelivery.InRequest);
            // Handlers delivered both ways record the event as processed in the request, so the durable copy is skipped.
            var guard = resolver.GetService<ProcessedEventGuard>();
            var streamingPool = await ActorEventsRuntimeStart.StartChildAsync(runtime, HandlerPool.Props(
                HandlerPoolSettings.Of(pipeline, pipeline.Streaming.MaxConcurrentEventHandlers, pipeline.Streaming.ConcurrentEventHandleEnable, node) with { AdmissionLimit = pipeline.MaxQueuedWorkItems },
                new HandlerPoolDependencies(inRequest, domain.Types, load.Streaming, scopes, deadLetters, guard)), "streaming-handler-pool");
            registry.Register<StreamingHandlerPool>(streamingPool);
            // The request pool is the node's event sink: every aggregate of the node tells it what it persisted.
            var requestPool = await ActorEventsRuntimeStart.StartChildAsync(runtime, HandlerPool.Props(
                HandlerPoolSettings.Of(pipeline, pipeline.MaxConcurrentEventHandlers, pipeline.ConcurrentEventHandleEnable, node)
                    with { AdmissionLimit = pipeline.MaxQueuedWorkItems, StreamingPool = streamingPool },
                new HandlerPoolDependencies(inRequest, domain.Types, load.Request, scopes, deadLetters, guard)), "handler-pool");
            registry.Register<HandlerPool>(requestPool);
            IActorRef? durablePool = null;
            if (domain.Handlers.Handlers.Any(h => h.Delivery == HandlerDelivery.Durable))
            {
                // Durable-only handlers are in no request pool: their dead letters are replayed by a pool of their own.
                durablePool = await ActorEventsRuntimeStart.StartChildAsync(runtime, HandlerPool.Props(
                    HandlerPoolSettings.Of(pipeline, pipeline.MaxConcurrentEventHandlers, pipeline.ConcurrentEventHandleEnable, node),
                    new HandlerPoolDependencies(domain.Handlers.For(HandlerDelivery.Durable), domain.Types, load.DurableReplay, scopes, deadLetters, guard)),
                    "durable-replay-pool");
            }

            // Projections resolve their own dead letters, in their singleton.
            var projections = domain.Subscriptions.Where(s => s.Kind == Messages.SubscriptionKind.Projection).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            var replayTimeout = options.Mediator.CommandTimeout * 4;
            var replays = await ActorEventsRuntimeStart.StartChildAsync(runtime,
                DeadLetterReplayRouter.Props(domain.Handlers, projections, requestPool, durablePool, replayTimeout), "dead-letter-replays");
            registry.Register<DeadLetterOffice>(await ActorEventsRuntimeStart.StartChildAsync(runtime,
                DeadLetterOffice.Props(deadLetters, replays, replayTimeout, projections), "dead-letters"));
        });

        foreach (var aggregate in domain.Aggregates)
        {
            aggregate.StartRegion(builder, domain, options);
        }

        builder.WithActors(async (system, registry, resolver) =>
        {
            var scopes = resolver.GetService<IServiceScopeFactory>();
            var runtime = registry.Get<ActorEventsRuntime>();

            var routes = domain.CommandOwners.ToDictionary(
                owner => owner.Key,
                owner => new AggregateRoute(owner.Value.Definition, owner.Value.Region(registry)));
            var queries = await ActorEventsRuntimeStart.StartChildAsync(runtime, QueryDispatcher.Props(domain.QueryHandlers, scopes, resolver.GetService<ActorEventsDatabase>(),
                options.Mediator.CommandTimeout), "queries");
            registry.Register<QueryDispatcher>(queries);
            var mediator = await ActorEventsRuntimeStart.StartChildAsync(runtime, CommandMediator.Props(routes,
                new CommandMediatorSettings(options.Mediator, options.Pipeline, registry.Get<HandlerPool>(), registry.Get<StreamingHandlerPool>(), queries)), "mediator");
            registry.Register<CommandMediator>(mediator);
        });
        return builder;
    }
}

/// <summary>Key under which the node's streaming handler pool is kept in the <see cref="ActorRegistry"/>.</summary>
internal sealed class StreamingHandlerPool;
