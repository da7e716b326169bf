using System.Globalization;
using ActorEvents.Host.Cli;
using Akka.Cluster;

namespace ActorEvents.Host.Tests.Clustering;

/// <summary>
/// The seed layout of docker-compose.yml, in-process: three nodes on 127.0.0.1 that all list the same two seeds. When the
/// first seed restarts it asks the second and joins the running cluster: one cluster afterwards. With the first seed as
/// the only seed (the old layout) the restarted node forms a second cluster on its own — the split the layout prevents.
/// </summary>
public sealed class SeedRestartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Should_rejoin_the_running_cluster_when_the_first_of_two_seeds_restarts()
    {
        var ports = LocalCluster.FreePorts(3);
        var nodes = await StartAsync(ports, seedCount: 2);
        try
        {
            await nodes[0].DisposeAsync();
            nodes[0] = await StartNodeAsync(ports, 0, seedCount: 2);

            // Every node sees the same three Up members, the restarted seed's new incarnation among them: one cluster.
            await WaitUntilAsync(() => nodes.All(n => UpMembers(n) == 3 && Leader(n) == Leader(nodes[1])), "the restarted seed joined the others");
            Assert.All(nodes[1..], n => Assert.Contains(Cluster.Get(n.System).State.Members,
                m => m.UniqueAddress == Cluster.Get(nodes[0].System).SelfUniqueAddress && m.Status == MemberStatus.Up));
        }
        finally
        {
            await StopAsync(nodes);
        }
    }

    [Fact]
    public async Task Should_form_a_second_cluster_when_the_only_seed_restarts_which_is_why_the_layout_lists_two()
    {
        var ports = LocalCluster.FreePorts(3);
        var nodes = await StartAsync(ports, seedCount: 1);
        try
        {
            await nodes[0].DisposeAsync();
            nodes[0] = await StartNodeAsync(ports, 0, seedCount: 1);

            await WaitUntilAsync(() => UpMembers(nodes[1]) == 2, "the others removed the old seed");
            Assert.Equal(1, UpMembers(nodes[0])); // a cluster of its own
            Assert.DoesNotContain(Cluster.Get(nodes[1].System).State.Members, m => m.UniqueAddress == Cluster.Get(nodes[0].System).SelfUniqueAddress);
        }
        finally
        {
            await StopAsync(nodes);
        }
    }

    private static async Task<ActorEventsTestHost[]> StartAsync(int[] ports, int seedCount)
    {
        var nodes = new ActorEventsTestHost[ports.Length];
        for (var i = 0; i < ports.Length; i++)
        {
            nodes[i] = await StartNodeAsync(ports, i, seedCount);
        }

        await WaitUntilAsync(() => nodes.All(n => UpMembers(n) == ports.Length), "the cluster formed");
        return nodes;
    }

    private static Task<ActorEventsTestHost> StartNodeAsync(int[] ports, int index, int seedCount)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Node:Port"] = ports[index].ToString(CultureInfo.InvariantCulture),
            ["Subscriptions:Enabled"] = "false",
        };
        for (var s = 0; s < seedCount; s++)
        {
            settings[$"Node:SeedNodes:{s}"] = HostProcess.SeedOf(ports[s]);
        }

        return ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(ActorEventsTestHost.Settings(settings),
            extraHocon: "akka.cluster.seed-node-timeout = 2s\nakka.cluster.split-brain-resolver.stable-after = 2s"));
    }

    private static int UpMembers(ActorEventsTestHost node) => Cluster.Get(node.System).State.Members.Count(m => m.Status == MemberStatus.Up);

    private static Akka.Actor.Address? Leader(ActorEventsTestHost node) => Cluster.Get(node.System).State.Leader;

    private static async Task StopAsync(IEnumerable<ActorEventsTestHost> nodes)
    {
        foreach (var node in nodes.Reverse())
        {
            await node.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
