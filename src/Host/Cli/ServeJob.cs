using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Logging;
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

        var persistence = PersistenceDescription.Of(options.Persistence);
        var up = NodeReadiness.WaitUntilUpAsync(host, Timeout.InfiniteTimeSpan);
        _ = up.ContinueWith(task =>
        {
            if (task is { IsCompletedSuccessfully: true, Result: { } address })
            {
                NodeLog.Up(logger, address, persistence);
            }
        }, TaskScheduler.Default);

        await host.WaitForShutdownAsync().ConfigureAwait(false);
        if (!up.IsCompletedSuccessfully || up.Result is null)
        {
            NodeLog.StoppedBeforeJoining(logger);
            return 1;
        }

        // After CoordinatedShutdown the node's own view of itself says whether it left through Leaving/Exiting.
        var status = Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).SelfMember.Status;
        if (status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Removed)
        {
            NodeLog.Left(logger, status);
        }
        else
        {
            NodeLog.StoppedWithoutLeaving(logger, status);
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
                NodeLog.OperationsEndpoint(logger, endpoint.Address, endpoint.ServesAdmin ? ", /admin" : string.Empty);
            }

            return endpoint;
        }
        catch (IOException e)
        {
            NodeLog.OperationsEndpointNotListening(logger, e, options.Hostname, options.Port ?? 0);
            return null;
        }
    }
}
