using System.Net;
using System.Net.Sockets;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// Several nodes of one cluster in this process (the demo's <c>--nodes N</c>): node 1 is the seed, every node
/// shares the configured database, and each listens on its own free port on the configured interface.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private bool _disposed;

    private LocalCluster(IReadOnlyList<IHost> nodes) => Nodes = nodes;

    /// <summary>The nodes' hosts, seed first.</summary>
    public IReadOnlyList<IHost> Nodes { get; }

    /// <summary>
    /// Starts <paramref name="count"/> nodes and waits until every one is Up, or returns null when they do not come
    /// up within <paramref name="timeout"/> (the started ones are stopped).
    /// </summary>
    /// <param name="count">How many nodes.</param>
    /// <param name="configurationArguments">Configuration arguments for every node.</param>
    /// <param name="overrides">Configuration overrides for every node.</param>
    /// <param name="timeout">How long the nodes may take to become Up.</param>
    /// <param name="seedPortFromConfiguration">Run a single node exactly as configured (its port, its seeds) instead of on a free port.</param>
    public static async Task<LocalCluster?> StartAsync(int count, string[] configurationArguments, IReadOnlyDictionary<string, string?> overrides, TimeSpan timeout,
        bool seedPortFromConfiguration = false)
    {
        var hostname = overrides.TryGetValue("ActorEvents:Node:Hostname", out var configured) && configured is not null ? configured : "127.0.0.1";
        var ports = FreePorts(count);
        var seed = $"akka.tcp://{SystemName(configurationArguments, overrides)}@{hostname}:{ports[0]}";
        var nodes = new List<IHost>();
        for (var i = 0; i < count; i++)
        {
            var nodeOverrides = new Dictionary<string, string?>(overrides, StringComparer.OrdinalIgnoreCase);
            if (!seedPortFromConfiguration)
            {
                nodeOverrides["ActorEvents:Node:Port"] = ports[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                nodeOverrides["ActorEvents:Node:SeedNodes:0"] = seed;
            }

            var host = NodeHost.CreateBuilder(configurationArguments, nodeOverrides).Build();
            nodes.Add(host);
            await host.StartAsync().ConfigureAwait(false);
        }

        var cluster = new LocalCluster(nodes);
        var deadline = DateTime.UtcNow + timeout;
        foreach (var node in nodes)
        {
            if (!await ClusterMembers.WaitUntilUpAsync(node.Services.GetRequiredService<ActorSystem>(), count, deadline).ConfigureAwait(false))
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
                return null;
            }
        }

        return cluster;
    }

    /// <summary>Address of the first node.</summary>
    public Address SeedAddress => Cluster.Get(Nodes[0].Services.GetRequiredService<ActorSystem>()).SelfAddress;

    /// <summary>A client that spreads commands over every node's mediator in turn.</summary>
    public IActorEventsClient Client => new RoundRobinClient(Nodes.Select(n => n.Services.GetRequiredService<IActorEventsClient>()).ToArray());

    /// <summary>Asks every aggregate type's shard region where its shards and entities live, and renders a table.</summary>
    public async Task<Table> ShardPlacementAsync()
    {
        var seed = Nodes[0].Services;
        var domain = seed.GetRequiredService<ActorEventsDomain>();
        var registry = seed.GetRequiredService<ActorRegistry>();
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Where the shards live[/] (shards / entities per node)").AddColumn("Node");
        var placements = new List<IReadOnlyDictionary<Address, ShardRegionStats>>();
        foreach (var aggregate in domain.Aggregates)
        {
            table.AddColumn(new TableColumn(Markup.Escape(aggregate.Definition.Name)).RightAligned());
            var stats = await aggregate.Region(registry).Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(10))
                .ConfigureAwait(false);
            placements.Add(stats.Regions);
        }

        foreach (var node in Nodes)
        {
            var address = Cluster.Get(node.Services.GetRequiredService<ActorSystem>()).SelfAddress;
            var cells = placements.Select(regions => regions.TryGetValue(address, out var region)
                ? $"{region.Stats.Count:N0} / {region.Stats.Values.Sum():N0}"
                : "–");
            table.AddRow([Markup.Escape(address.ToString()), .. cells]);
        }

        return table;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // Last node first: the seed leaves last, so hand-offs have somewhere to go until the end.
        foreach (var node in Nodes.Reverse())
        {
            await node.StopAsync().ConfigureAwait(false);
            node.Dispose();
        }
    }

    private static string SystemName(string[] configurationArguments, IReadOnlyDictionary<string, string?> overrides)
    {
        using var probe = NodeHost.CreateBuilder(configurationArguments, overrides).Build();
        return probe.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Actors.Configuration.ActorEventsOptions>>().Value.Node.ActorSystemName;
    }

    /// <summary>Ports that are free on the loopback interface right now (bound once, then released).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var listener in listeners)
        {
            listener.Start();
        }

        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var listener in listeners)
        {
            listener.Stop();
        }

        return ports;
    }

    private sealed class RoundRobinClient(IReadOnlyList<IActorEventsClient> clients) : IActorEventsClient
    {
        private int _next;

        public Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default) =>
            Pick().SendAsync(command, metadata, cancellationToken);

        public IAsyncEnumerable<TResult> StreamAsync<TResult>(IStreamingRequest<TResult> request, CancellationToken cancellationToken = default) =>
            Pick().StreamAsync(request, cancellationToken);

        public Task<QueryResult<TResult>> QueryAsync<TResult>(IQuery<TResult> query, CancellationToken cancellationToken = default) =>
            Pick().QueryAsync(query, cancellationToken);

        private IActorEventsClient Pick() => clients[(int)((uint)Interlocked.Increment(ref _next) % (uint)clients.Count)];
    }
}
