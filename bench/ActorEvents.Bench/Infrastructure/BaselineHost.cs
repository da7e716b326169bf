using System.Text.Json;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Storage;
using ActorEvents.Bench.Domain;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>What the baseline entity persists per command.</summary>
/// <param name="EntityId">Target entity.</param>
/// <param name="Events">Events to persist in one <c>PersistAll</c>.</param>
internal sealed record BaselineCommand(string EntityId, int Events);

/// <summary>The baseline entity's reply once the last event of a command is persisted.</summary>
internal sealed record BaselineDone(long LastSequenceNr);

/// <summary>Registry key of the baseline shard region.</summary>
internal sealed class BaselineRegion;

/// <summary>
/// A bare Akka.NET persistent actor: persists <see cref="BaselineCommand.Events"/> pre-serialised payloads of the
/// size of the pipeline's event envelopes, tagged with the same two tags, in one <c>PersistAll</c>, and replies
/// after the last one. No envelope building, serializer, mediator, supervisor, router or pool.
/// </summary>
internal sealed class BaselineEntity : ReceivePersistentActor
{
    private static readonly string[] Tags = [AggregateTags.AggregatePrefix + BenchAggregate.AggregateName, AggregateTags.EventPrefix + "bench.emitted"];

    public BaselineEntity(string entityId, byte[] payload)
    {
        PersistenceId = $"{BenchAggregate.AggregateName}-{entityId}";
        Recover<byte[]>(_ => { });
        Command<BaselineCommand>(command =>
        {
            var events = new Tagged[command.Events];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = new Tagged(payload, Tags);
            }

            var replyTo = Sender;
            var remaining = events.Length;
            PersistAll(events, _ =>
            {
                if (--remaining == 0)
                {
                    replyTo.Tell(new BaselineDone(LastSequenceNr));
                }
            });
        });
        Command<AggregateStop>(_ => Context.Stop(Self));
    }

    public override string PersistenceId { get; }
}

/// <summary>Same hashing as the runtime's <see cref="AggregateMessageExtractor"/>, for <see cref="BaselineCommand"/>.</summary>
internal sealed class BaselineMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message is BaselineCommand command ? command.EntityId : null;
}

/// <summary>
/// A one-node cluster with the same remoting, clustering, persistence HOCON and shard options as the runtime
/// (through the runtime's own <see cref="ActorEventsHostingExtensions.WithActorEventsNode"/> and
/// <see cref="ActorEventsHostingExtensions.WithActorEventsPersistence"/>), hosting only <see cref="BaselineEntity"/>.
/// </summary>
internal sealed class BaselineHost : IAsyncDisposable
{
    private BaselineHost(IHost host)
    {
        Host = host;
        Region = host.Services.GetRequiredService<ActorRegistry>().Get<BaselineRegion>();
        System = host.Services.GetRequiredService<ActorSystem>();
    }

    public ActorSystem System { get; }

    public IHost Host { get; }

    public IActorRef Region { get; }

    public static async Task<BaselineHost> StartAsync(BenchDb db, int shards, byte[] payload, bool hoconTuning, JournalWriter writer, CancellationToken cancellationToken = default)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        BenchHost.ConfigureLogging(builder.Logging);
        var defaults = new AggregateOptions();
        await DatabaseSchema.EnsureCreatedAsync(db.PersistenceOptions(writer), cancellationToken).ConfigureAwait(false);
        builder.Services.AddAkka("bench-baseline", (akka, _) =>
        {
            akka.WithActorEventsNode(new NodeOptions { Hostname = "127.0.0.1", Port = 0 })
                .WithActorEventsPersistence(db.PersistenceOptions(writer))
                .WithShardRegion<BaselineRegion>(
                    "baseline",
                    entityId => Props.Create(() => new BaselineEntity(entityId, payload)),
                    new BaselineMessageExtractor(shards),
                    new ShardOptions
                    {
                        HandOffStopMessage = AggregateStop.Instance,
                        ShouldPassivateIdleEntities = true,
                        PassivateIdleEntityAfter = defaults.PassivateAfter,
                        RememberEntities = false,
                        StateStoreMode = StateStoreMode.DData,
                    });
            if (hoconTuning)
            {
                JournalTuning.Apply(akka);
            }

            BenchHost.ConfigureAkkaLogging(akka);
        });
        var host = builder.Build();
        return new BaselineHost(await BenchHost.StartAndWaitUpAsync(host, cancellationToken).ConfigureAwait(false));
    }

    public ValueTask DisposeAsync() => new(BenchHost.StopAsync(Host));
}

/// <summary>Sizes of what the pipeline persists, so the baseline and the ceiling write rows of the same size.</summary>
internal static class PayloadSizing
{
    /// <summary>Bytes of one serialized <see cref="EventEnvelope"/> of a bench event, as the runtime's serializer writes it.</summary>
    public static int EnvelopeBytes(int payloadBytes)
    {
        var domain = new ActorEventsDomainBuilder().AddBenchDomain(0).Build();
        var options = ActorEventsSerializer.CreateOptions(domain.Types);
        var id = Guid.CreateVersion7().ToString("N");
        var envelope = new EventEnvelope(Guid.CreateVersion7().ToString("N"), "bench.emitted", 2, DateTimeOffset.UtcNow,
            "akka.tcp://bench-pipeline@127.0.0.1:40000", BenchAggregate.AggregateName, "a999", 1234, id, id, null,
            new BenchEvent("a999", 3, BenchAggregate.PayloadOf(payloadBytes)));
        return JsonSerializer.SerializeToUtf8Bytes(envelope, options).Length;
    }

    /// <summary>A payload of <paramref name="bytes"/> bytes.</summary>
    public static byte[] Payload(int bytes)
    {
        var payload = new byte[bytes];
        Random.Shared.NextBytes(payload);
        return payload;
    }
}
