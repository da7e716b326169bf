using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Cli.Offline;

/// <summary>
/// The node the admin CLI starts on a database no cluster runs on, for what must run handler code (replay, skip and purge
/// release parked followers): a one-node cluster of its own (configured seeds are ignored, after
/// <see cref="RunningNodeProbe"/> found none of them up), on a free port unless <c>--port</c> is given, with subscriptions
/// off and no broker consumption. The handlers run here and the commands they send go to this node's aggregates.
/// Stopped (leaving its one-node cluster) when the command is done.
/// </summary>
internal sealed class ResolutionNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(2);
    private readonly IHost _host;

    private ResolutionNode(IHost host) => _host = host;

    /// <summary>The node's dead-letter admin.</summary>
    public IDeadLetterAdmin DeadLetters => _host.Services.GetRequiredService<IDeadLetterAdmin>();

    /// <summary>Starts the node; throws <see cref="NodeDidNotStartException"/> when it does not come up.</summary>
    /// <param name="createBuilder">The application's host builder for these configuration overrides.</param>
    /// <param name="overrides">The command line's overrides.</param>
    public static async Task<ResolutionNode> StartAsync(Func<IReadOnlyDictionary<string, string?>, HostApplicationBuilder> createBuilder,
        IReadOnlyDictionary<string, string?> overrides)
    {
        var settings = new Dictionary<string, string?>(overrides, StringComparer.OrdinalIgnoreCase);
        settings.TryAdd($"{ActorEventsOptions.SectionName}:Node:Port", "0");
        settings[$"{ActorEventsOptions.SectionName}:Subscriptions:Enabled"] = "false";
        // A broker subscriber's dead letter can still be replayed: its desk runs without consuming from the queue.
        settings["ActorEvents:Broker:Consume"] = "false";
        var builder = createBuilder(settings);
        builder.Services.PostConfigure<ActorEventsOptions>(options => options.Node.SeedNodes = []);
        var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        var node = new ResolutionNode(host);
        if (await NodeReadiness.WaitUntilUpAsync(host, StartTimeout).ConfigureAwait(false) is null)
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw new NodeDidNotStartException();
        }

        return node;
    }

    /// <summary>Waits until the followers a replay or skip released have run in this node's pools (or two minutes pass).</summary>
    public async Task DrainAsync()
    {
        var pipeline = _host.Services.GetRequiredService<EventPipelineLoad>();
        HandlerPoolLoad[] pools = [pipeline.Request, pipeline.DurableReplay];
        var deadline = DateTime.UtcNow + DrainTimeout;
        while (pools.Any(load => load.Queued > 0 || load.Running > 0 || load.Retrying > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}

/// <summary>The node the admin CLI started for a replay did not become an Up member (its log says why).</summary>
public sealed class NodeDidNotStartException() : Exception("The node for the operation did not come up; see the log above.");
