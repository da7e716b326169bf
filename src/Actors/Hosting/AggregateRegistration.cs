using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;

namespace ActorEvents.Actors.Hosting;

/// <summary>Key type under which the shard region of <typeparamref name="TAggregate"/> is kept in the <see cref="ActorRegistry"/>.</summary>
/// <typeparam name="TAggregate">The aggregate.</typeparam>
public sealed class AggregateRegion<TAggregate> where TAggregate : IAggregateDefinition;

/// <summary>One registered aggregate and how to start and find its shard region.</summary>
public sealed class AggregateRegistration
{
    private readonly Action<AkkaConfigurationBuilder, ActorEventsDomain, ActorEventsOptions> _startRegion;
    private readonly Func<IReadOnlyActorRegistry, IActorRef> _region;

    private AggregateRegistration(
        IAggregateDefinition definition,
        Action<AkkaConfigurationBuilder, ActorEventsDomain, ActorEventsOptions> startRegion,
        Func<IReadOnlyActorRegistry, IActorRef> region)
    {
        Definition = definition;
        _startRegion = startRegion;
        _region = region;
    }

    /// <summary>The aggregate.</summary>
    public IAggregateDefinition Definition { get; }

    /// <summary>The aggregate's shard region, once started.</summary>
    public IActorRef Region(IReadOnlyActorRegistry registry) => _region(registry);

    internal void StartRegion(AkkaConfigurationBuilder builder, ActorEventsDomain domain, ActorEventsOptions options) =>
        _startRegion(builder, domain, options);

    internal static AggregateRegistration For<TAggregate>(TAggregate definition) where TAggregate : IAggregateDefinition =>
        new(definition,
            (builder, domain, options) =>
            {
                var aggregates = options.Aggregates;
                builder.WithShardRegion<AggregateRegion<TAggregate>>(
                    definition.Name,
                    (system, registry, _) =>
                    {
                        var settings = new AggregateRuntimeSettings(aggregates.SnapshotEvery, aggregates.DeduplicationWindow,
                            Cluster.Get(system).SelfAddress.ToString(), aggregates.DeduplicationRetention)
                        {
                            // Events are handled on the node the aggregate lives on: one pool, in sequence order, per aggregate.
                            EventSink = registry.Get<HandlerPool>(),
                            DrainTimeout = aggregates.HandOffDrainTimeout,
                        };
                        return entityId => AggregateActor.SupervisedProps(definition, domain.Types, settings, entityId,
                            aggregates.RestartMinBackoff, aggregates.RestartMaxBackoff);
                    },
                    new AggregateMessageExtractor(aggregates.NumberOfShards),
                    new ShardOptions
                    {
                        HandOffStopMessage = AggregateStop.Instance,
                        ShouldPassivateIdleEntities = aggregates.PassivateAfter > TimeSpan.Zero,
                        PassivateIdleEntityAfter = aggregates.PassivateAfter,
                        RememberEntities = false,
                        StateStoreMode = StateStoreMode.DData,
                    });
            },
            registry => registry.Get<AggregateRegion<TAggregate>>());
}

/// <summary>Routes <see cref="AggregateRequest"/>s to entities by aggregate id and to shards by a stable hash.</summary>
/// <param name="maxShards">Number of shards.</param>
public sealed class AggregateMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    /// <inheritdoc />
    public override string? EntityId(object message) => message switch
    {
        AggregateRequest request => request.Command.AggregateId,
        _ => null,
    };
}
