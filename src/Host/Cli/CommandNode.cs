using ActorEvents.Actors.Hosting;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// The node an operator verb (<c>dlq</c>, <c>subscriptions</c>, <c>load</c>) starts for itself: port 0 unless
/// <c>--port</c> is given, started, waited for until Up, handed to the verb, and stopped again whatever happens.
/// </summary>
public static class CommandNode
{
    /// <summary>Runs <paramref name="operation"/> on a started node; returns 1 when the node does not come up.</summary>
    /// <param name="console">Where to report a node that does not come up.</param>
    /// <param name="configurationArguments">Configuration arguments for the host.</param>
    /// <param name="overrides">Configuration overrides (a port of 0 is added when none is given).</param>
    /// <param name="operation">What to do with the node; its result is the exit code.</param>
    public static async Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments, Dictionary<string, string?> overrides,
        Func<IHost, Task<int>> operation)
    {
        overrides.TryAdd("ActorEvents:Node:Port", "0");
        // An operator's node takes nothing from the broker's queues (it can still replay a subscriber's dead letter).
        overrides.TryAdd("ActorEvents:Broker:Consume", "false");
        using var host = NodeHost.CreateBuilder(configurationArguments, overrides).Build();
        await host.StartAsync().ConfigureAwait(false);
        try
        {
            if (await NodeReadiness.WaitUntilUpAsync(host, DemoJob.StartTimeout).ConfigureAwait(false) is null)
            {
                console.MarkupLine("[red]The node did not come up; see the log above.[/]");
                return 1;
            }

            return await operation(host).ConfigureAwait(false);
        }
        finally
        {
            await host.StopAsync().ConfigureAwait(false);
        }
    }
}
