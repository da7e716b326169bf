using System.Diagnostics;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Mediator;
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
    public static async Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments,
        IReadOnlyDictionary<string, string?> overrides, WorkloadSettings settings)
    {
        var starting = Stopwatch.GetTimestamp();
        using var host = NodeHost.CreateBuilder(QuietAkkaWarnings(configurationArguments), overrides).Build();
        var options = host.Services.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
        await host.StartAsync().ConfigureAwait(false);
        var address = await NodeReadiness.WaitUntilUpAsync(host, StartTimeout).ConfigureAwait(false);
        if (address is null)
        {
            console.MarkupLine($"[red]The node did not come up[/] within {StartTimeout.TotalSeconds:0} s; see the log above " +
                $"(is port {options.Node.Port} already in use? try --port 0).");
            await host.StopAsync().ConfigureAwait(false);
            return 1;
        }

        var plan = WorkloadPlan.Create(settings);
        console.MarkupLine($"[bold]ActorEvents demo[/]: one-node cluster [blue]{Markup.Escape(address.ToString())}[/] up in " +
            $"{Stopwatch.GetElapsedTime(starting).TotalSeconds:N1} s");
        console.MarkupLine($"Persistence: {Markup.Escape(PersistenceDescription.Of(options.Persistence))}");
        console.MarkupLine($"Run [bold]{Markup.Escape(plan.RunId)}[/]: about {plan.PlannedCommands:N0} commands, {plan.Orders:N0} orders in " +
            $"{plan.Batches.Count - 1} batch(es), {plan.Skus.Count} SKUs, at most {settings.Concurrency} in flight");

        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var workload = new DemoWorkload(host.Services.GetRequiredService<IActorEventsClient>(), plan, settings.Concurrency);
        var (warmUp, problem) = await workload.WarmUpAsync().ConfigureAwait(false);
        if (problem is not null)
        {
            console.MarkupLine($"[red]The node is up but cannot serve commands[/] ({Markup.Escape(problem)}). Check the persistence settings and the log above.");
            await host.StopAsync().ConfigureAwait(false);
            return 1;
        }

        console.MarkupLine($"Shard regions and journal ready in {warmUp.TotalSeconds:N1} s [grey](coordinator start, first allocations and recoveries; not counted below)[/]");
        var summary = await WorkloadProgress.FollowAsync(console, workload.Statistics, plan.PlannedCommands, workload.RunAsync(stopping))
            .ConfigureAwait(false);

        // Stop first, so that whatever the node prints while it shuts down comes before the summary, not after it.
        await host.StopAsync().ConfigureAwait(false);
        WorkloadReport.Render(console, summary);
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
