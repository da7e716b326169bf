using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Operations;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ActorEvents.Host.Cli;

/// <summary>
/// <c>serve</c>: keep the node up until Ctrl-C or SIGTERM. Stopping the host runs Akka's CoordinatedShutdown
/// (Akka.Hosting does this in its hosted service), which hands off the node's shards and leaves the cluster.
/// </summary>
public static class ServeJob
{
    /// <summary>Runs the node until the process is asked to stop. Returns 0, or 1 when the node never came up.</summary>
    /// <param name="configurationArguments">Configuration arguments for the host (<c>--ActorEvents:…=…</c>).</param>
    /// <param name="overrides">Configuration overrides from the CLI options.</param>
    public static async Task<int> RunAsync(string[] configurationArguments, IReadOnlyDictionary<string, string?> overrides)
    {
        using var host = NodeHost.CreateBuilder(configurationArguments, overrides).Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ActorEvents.Host.Serve");
        var options = host.Services.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
        await host.StartAsync().ConfigureAwait(false);
        await using var operations = await StartOperationsAsync(host, logger).ConfigureAwait(false);

        var up = NodeReadiness.WaitUntilUpAsync(host, Timeout.InfiniteTimeSpan);
        _ = up.ContinueWith(task =>
        {
            if (task is { IsCompletedSuccessfully: true, Result: { } address })
            {
                logger.LogInformation("Node {Address} is up; persistence {Persistence}. Ctrl-C or SIGTERM leaves the cluster and stops it.",
                    address, PersistenceDescription.Of(options.Persistence));
            }
        }, TaskScheduler.Default);

        await host.WaitForShutdownAsync().ConfigureAwait(false);
        if (!up.IsCompletedSuccessfully || up.Result is null)
        {
            logger.LogWarning("Node stopped before it joined a cluster.");
            return 1;
        }

        // After CoordinatedShutdown the node's own view of itself says whether it left through Leaving/Exiting.
        var status = Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).SelfMember.Status;
        if (status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Removed)
        {
            logger.LogInformation("Node left the cluster and stopped (last membership status: {Status}).", status);
        }
        else
        {
            logger.LogWarning("Node stopped without leaving the cluster (last membership status: {Status}); the others will down it.", status);
        }

        return 0;
    }

    /// <summary>The HTTP endpoint for metrics and health, when a port is configured; a port in use is logged and the node keeps running.</summary>
    private static async Task<OperationsEndpoint?> StartOperationsAsync(IHost host, ILogger logger)
    {
        var options = OperationsOptions.From(host.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>());
        try
        {
            var endpoint = await OperationsEndpoint.StartAsync(host, options).ConfigureAwait(false);
            if (endpoint is not null)
            {
                logger.LogInformation("Operations endpoint on {Address}: /metrics, /healthz, /ready{Admin}.", endpoint.Address, endpoint.ServesAdmin ? ", /admin" : string.Empty);
            }

            return endpoint;
        }
        catch (IOException e)
        {
            logger.LogError(e, "The operations endpoint could not listen on {Hostname}:{Port}; the node runs without it.", options.Hostname, options.Port);
            return null;
        }
    }
}
