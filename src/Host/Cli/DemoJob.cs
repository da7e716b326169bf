using System.Diagnostics;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Host.Logging;
using ActorEvents.Host.Workload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// The main job (no command given): start a one-node cluster on the configured database, run the demo workload
/// through the mediator with live progress, print the summary, stop the node.
/// </summary>
public static class DemoJob
{
    /// <summary>How long the node may take to become Up.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs the job. Returns 0 on success, 1 when something is really broken, 130 when interrupted.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="configurationArguments">Configuration arguments for the host (<c>--ActorEvents:…=…</c>).</param>
    /// <param name="overrides">Configuration overrides from the CLI options.</param>
    /// <param name="settings">The workload to run.</param>
    /// <param name="nodes">Nodes of the cluster, all in this process (1: the node exactly as configured).</param>
    public static async Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments,
        IReadOnlyDictionary<string, string?> overrides, WorkloadSettings settings, int nodes = 1)
    {
        var starting = Stopwatch.GetTimestamp();
        var arguments = QuietAkkaWarnings(configurationArguments);
        var cluster = await LocalCluster.StartAsync(nodes, arguments, overrides, StartTimeout, seedPortFromConfiguration: nodes == 1).ConfigureAwait(false);
        if (cluster is null)
        {
            console.MarkupLine($"[red]The node(s) did not come up[/] within {StartTimeout.TotalSeconds:0} s; see the log above " +
                "(is the port already in use? try --port 0).");
            return 1;
        }

        await using var _ = cluster;
        var host = cluster.Nodes[0];
        var options = host.Services.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
        var plan = WorkloadPlan.Create(settings);
        console.MarkupLine($"[bold]ActorEvents demo[/]: {(nodes == 1 ? "one-node cluster" : $"{nodes}-node cluster in this process, seed")} " +
            $"[blue]{Markup.Escape(cluster.SeedAddress.ToString())}[/] up in {Stopwatch.GetElapsedTime(starting).TotalSeconds:N1} s");
        console.MarkupLine($"Persistence: {Markup.Escape(PersistenceDescription.Of(options.Persistence))}");
        console.MarkupLine($"Run [bold]{Markup.Escape(plan.RunId)}[/]: about {plan.PlannedCommands:N0} commands, {plan.Orders:N0} orders in " +
            $"{plan.Batches.Count - 1} batch(es), {plan.Skus.Count} SKUs, at most {settings.Concurrency} in flight");

        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var workload = new DemoWorkload(cluster.Client, plan, settings.Concurrency);
        var (warmUp, problem) = await workload.WarmUpAsync().ConfigureAwait(false);
        if (problem is not null)
        {
            console.MarkupLine($"[red]The node is up but cannot serve commands[/] ({Markup.Escape(problem)}). Check the persistence settings and the log above.");
            return 1;
        }

        console.MarkupLine($"Shard regions and journal ready in {warmUp.TotalSeconds:N1} s [grey](coordinator start, first allocations and recoveries; not counted below)[/]");
        WorkloadSummary summary;
        ThroughputLimit limit;
        using (HeldConsoleLoggerProvider.Hold())
        using (var watch = new ThroughputWatch(host.Services.GetRequiredService<EventPipelineLoad>().Request,
            options.Pipeline.ConcurrentEventHandleEnable ? Math.Max(1, options.Pipeline.MaxConcurrentEventHandlers) : 1))
        {
            // Log lines wait while the progress is drawn, and come after it.
            summary = await WorkloadProgress.FollowAsync(console, workload.Statistics, plan.PlannedCommands, workload.RunAsync(stopping))
                .ConfigureAwait(false);
            limit = watch.Result();
        }

        var placement = nodes > 1 ? await cluster.ShardPlacementAsync().ConfigureAwait(false) : null;
        var readSide = await ReadSideSummary.CollectAsync(host.Services, plan).ConfigureAwait(false);

        // Stop first, so that whatever the nodes print while they shut down comes before the summary, not after it.
        await cluster.DisposeAsync().ConfigureAwait(false);
        WorkloadReport.Render(console, summary);
        WorkloadReport.RenderLimit(console, summary, limit, options.Persistence.Provider);
        readSide.Render(console, summary);
        if (placement is not null)
        {
            console.Write(placement);
        }

        return summary.IsBroken ? 1 : summary.Interrupted ? 130 : 0;
    }

    /// <summary>
    /// The demo deliberately produces handler failures (the sample's suspended loyalty accounts), which Akka logs
    /// as warnings, one block per event, through the progress display. The summary counts them instead; unless
    /// the user set <c>Logging:LogLevel:Akka</c> (argument or environment), only Akka errors reach the console.
    /// </summary>
    private static string[] QuietAkkaWarnings(string[] configurationArguments)
    {
        const string key = "Logging:LogLevel:Akka";
        var setByUser = Environment.GetEnvironmentVariable(key.Replace(":", "__", StringComparison.Ordinal)) is not null
            || configurationArguments.Any(a => a.Contains(key, StringComparison.OrdinalIgnoreCase));
        return setByUser ? configurationArguments : [$"--{key}=Error", .. configurationArguments];
    }
}
