using ActorEvents.Actors.Hosting;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>Several ActorSystems on 127.0.0.1 in one process, one cluster on one database (the first node is the seed).</summary>
public static class TestCluster
{
    /// <summary>
    /// Starts <paramref name="count"/> nodes and waits until every one is Up and the shard region <paramref name="region"/>
    /// of every node has registered with the coordinator (so that shards are given to every node).
    /// </summary>
    /// <param name="database">The shared database.</param>
    /// <param name="count">How many nodes.</param>
    /// <param name="region">A shard region every node hosts.</param>
    /// <param name="hocon">Extra HOCON of node i (null: none).</param>
    /// <param name="configureDomain">The domain (null: the test assembly's default domain).</param>
    /// <param name="settings">More <c>ActorEvents</c> settings of every node.</param>
    /// <param name="services">Services of node i (null: none).</param>
    public static async Task<ActorEventsTestHost[]> StartAsync(TestDatabase database, int count, string region, Func<int, string?>? hocon = null,
        Action<ActorEventsDomainBuilder>? configureDomain = null, IReadOnlyDictionary<string, string?>? settings = null,
        Func<int, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>>? services = null)
    {
        // Every node on a port the system picks: the first joins itself, the others join it at the address it got.
        var nodes = new ActorEventsTestHost[count];
        for (var i = 0; i < count; i++)
        {
            var node = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
            {
                ["Aggregates:NumberOfShards"] = "30",
                ["Mediator:CommandTimeout"] = "00:00:05",
            };
            if (i > 0)
            {
                node["Node:SeedNodes:0"] = nodes[0].SelfAddress;
            }

            nodes[i] = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(database.Settings(node), configureDomain, extraHocon: hocon?.Invoke(i),
                services: services?.Invoke(i)));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (nodes.Any(n => Cluster.Get(n.System).State.Members.Count(m => m.Status == MemberStatus.Up) < count))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The cluster did not form.");
            }

            await Task.Delay(50);
        }

        // Members being Up is not enough: the shard coordinator gives new shards only to regions that have registered
        // with it, so a node whose region registers late would host nothing (and a test crashing it would test nothing).
        var shards = ClusterSharding.Get(nodes[0].System).ShardRegion(region);
        while ((await shards.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(5))).Regions.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Not every node's shard region registered with the coordinator.");
            }

            await Task.Delay(50);
        }

        return nodes;
    }

    /// <summary>Stops the nodes, the last first.</summary>
    public static async Task StopAsync(IEnumerable<ActorEventsTestHost> nodes)
    {
        foreach (var node in nodes.Reverse())
        {
            try
            {
                await node.DisposeAsync();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
