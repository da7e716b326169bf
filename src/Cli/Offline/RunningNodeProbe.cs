using System.Net.Sockets;
using ActorEvents.Actors.Configuration;

namespace ActorEvents.Cli.Offline;

/// <summary>A node of the configured cluster answered: the operation must go through its admin API instead.</summary>
/// <param name="address">The address that answered.</param>
public sealed class ClusterRunningException(string address)
    : Exception($"A cluster node answers at {address}: a replay or skip here would run a second copy of the cluster's aggregates beside it. " +
        "Talk to the running cluster with --admin-url (the operations endpoint of one of its nodes).")
{
    /// <summary>The address that answered.</summary>
    public string Address { get; } = address;
}

/// <summary>
/// Before the admin CLI starts a node of its own on a database, it knocks on the configured cluster: every seed node and
/// this node's own configured port (when not 0). A TCP connection that is accepted within a second means a node runs there.
/// </summary>
internal static class RunningNodeProbe
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ClusterRunningException"/> when a configured node answers.</summary>
    public static async Task EnsureNoneAnswersAsync(NodeOptions node, CancellationToken cancellationToken)
    {
        foreach (var (host, port) in Endpoints(node))
        {
            if (await AnswersAsync(host, port, cancellationToken).ConfigureAwait(false))
            {
                throw new ClusterRunningException($"{host}:{port}");
            }
        }
    }

    /// <summary>Host and port of every seed (<c>akka.tcp://system@host:port</c>) and of the node's own configured port.</summary>
    internal static IEnumerable<(string Host, int Port)> Endpoints(NodeOptions node)
    {
        var endpoints = new List<(string, int)>();
        foreach (var seed in node.SeedNodes.Where(s => !string.IsNullOrWhiteSpace(s)))
        {
            if (Uri.TryCreate(seed, UriKind.Absolute, out var uri) && uri.Port > 0)
            {
                endpoints.Add((uri.Host, uri.Port));
            }
        }

        if (node.Port > 0)
        {
            endpoints.Add((node.PublicHostname ?? node.Hostname, node.Port));
        }

        return endpoints.Distinct();
    }

    private static async Task<bool> AnswersAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
