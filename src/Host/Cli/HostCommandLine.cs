using System.CommandLine;
using System.Data.Common;
using ActorEvents.Cli;
using ActorEvents.Host.Workload;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// The command line of the host: no command runs the demo workload (the main job), <c>serve</c> runs a node until
/// it is stopped. Tokens the CLI does not know are handed to the host's configuration when they look like
/// <c>--Section:Key=value</c>, so every <c>ActorEvents:…</c> key can be set from the command line too.
/// </summary>
public static class HostCommandLine
{
    /// <summary>Exit code of a command line that could not be used.</summary>
    public const int UsageError = 2;

    /// <summary>Builds the root command.</summary>
    /// <param name="console">Where the jobs write (defaults to the process console).</param>
    public static RootCommand Create(IAnsiConsole? console = null)
    {
        console ??= ProcessConsole();

        var node = new NodeCommandLineOptions();
        var commands = PositiveInt("--commands", "About how many commands the demo sends.", WorkloadSettings.DefaultCommands);
        var ordersPerBatch = PositiveInt("--orders-per-batch", "Orders per batch; each batch first restocks every SKU.", WorkloadSettings.DefaultOrdersPerBatch);
        var skus = PositiveInt("--skus", "Number of SKUs. Their ids are fixed (sku-001 …), so their stock carries over between runs.", WorkloadSettings.DefaultSkus);
        var concurrency = PositiveInt("--concurrency", "Most commands in flight at once.", WorkloadSettings.DefaultConcurrency);
        var nodes = PositiveInt("--nodes", "Nodes of the demo's cluster, all in this process on free ports and one database; the summary shows where the shards live.", 1);
        nodes.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() > 9)
            {
                result.AddError("--nodes must be at most 9.");
            }
        });

        var root = new RootCommand(
            "An ActorEvents node. Without a command it runs the demo: a one-node cluster on the configured database " +
            "(SQLite file data/actor-events.db by default), a few thousand commands through the mediator, and a summary. " +
            "Any configuration key can be given as --ActorEvents:Section:Key=value (or as environment variable ActorEvents__Section__Key).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        foreach (var option in node.All.Concat([commands, ordersPerBatch, skus, concurrency, nodes]))
        {
            root.Options.Add(option);
        }

        root.SetAction((parseResult, _) => Guarded(console, parseResult, configuration => DemoJob.RunAsync(
            console, configuration, node.Overrides(parseResult), new WorkloadSettings
            {
                Commands = parseResult.GetValue(commands),
                OrdersPerBatch = parseResult.GetValue(ordersPerBatch),
                Skus = parseResult.GetValue(skus),
                Concurrency = parseResult.GetValue(concurrency),
            }, parseResult.GetValue(nodes))));

        var serve = new Command("serve", "Run this node until Ctrl-C or SIGTERM, then leave the cluster cleanly.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        serve.SetAction((parseResult, _) => Guarded(console, parseResult, configuration => ServeJob.RunAsync(configuration, node.Overrides(parseResult))));
        root.Subcommands.Add(serve);

        var url = new Argument<string>("url") { Description = "e.g. http://127.0.0.1:9464/ready" };
        var probe = new Command("probe", "GET a URL of a node's operations endpoint (/healthz, /ready) and exit 0 on a 2xx answer, 1 otherwise; starts no node " +
            "(for container health checks in images without curl).") { url };
        probe.SetAction((parseResult, cancellation) => ProbeAsync(console, parseResult.GetValue(url)!, cancellation));
        root.Subcommands.Add(probe);
        foreach (var admin in AdminCommands.Create(new AdminCliSettings
        {
            Console = console,
            CreateHostBuilder = (parseResult, overrides) => NodeHost.CreateBuilder(ConfigurationOf(parseResult), overrides),
            Overrides = node.Overrides,
            Guard = (parseResult, run) => Guarded(console, parseResult, _ => run()),
        }))
        {
            root.Subcommands.Add(admin);
        }

        root.Subcommands.Add(LoadJob.Create(console, node, (parseResult, job) => Guarded(console, parseResult, job)));
        return root;
    }

    /// <summary>Parses and runs a command line. Signals (Ctrl-C, SIGTERM) are left to the Generic Host, which stops the node cleanly.</summary>
    /// <remarks>A command line that does not parse (an unknown verb, a bad option value) exits with <see cref="UsageError"/>, its errors printed.</remarks>
    public static Task<int> InvokeAsync(string[] args, IAnsiConsole? console = null)
    {
        console ??= ProcessConsole();
        var parse = Create(console).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                console.MarkupLine($"[red]{Markup.Escape(error.Message)}[/]");
            }

            console.MarkupLine("See --help.");
            return Task.FromResult(UsageError);
        }

        return parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>The process console; a redirected one gets a width (a file or pipe has none: Spectre would assume 80 columns and wrap the summary tables).</summary>
    private static IAnsiConsole ProcessConsole()
    {
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 120;
        }

        return console;
    }

    private static async Task<int> ProbeAsync(IAnsiConsole console, string address, CancellationToken cancellation)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            console.MarkupLine($"[red]'{Markup.Escape(address)}' is not an http(s) URL.[/]");
            return UsageError;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(url, cancellation).ConfigureAwait(false);
            console.Profile.Out.Writer.WriteLine($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false)}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            console.MarkupLine($"[red]{Markup.Escape(url.ToString())}: {Markup.Escape(e.Message)}[/]");
            return 1;
        }
    }

    /// <summary>The configuration arguments of a command line <see cref="Guarded"/> has already checked.</summary>
    private static string[] ConfigurationOf(ParseResult parseResult) =>
        ConfigurationArguments.TryCollect(parseResult.UnmatchedTokens, out var configuration, out _) ? configuration : [];

    private static Option<int> PositiveInt(string name, string description, int defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError($"{name} must be at least 1.");
            }
        });
        return option;
    }

    private static async Task<int> Guarded(IAnsiConsole console, ParseResult parseResult, Func<string[], Task<int>> job)
    {
        if (!ConfigurationArguments.TryCollect(parseResult.UnmatchedTokens, out var configuration, out var error))
        {
            console.MarkupLine($"[red]{Markup.Escape(error!)}[/]");
            return UsageError;
        }

        try
        {
            return await job(configuration).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            // Messages name the failing keys, never their values.
            console.MarkupLine($"[red]Invalid configuration:[/] {Markup.Escape(string.Join(" ", e.Failures))}");
            return UsageError;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("ActorEvents:", StringComparison.Ordinal))
        {
            console.MarkupLine($"[red]Invalid configuration:[/] {Markup.Escape(e.Message)}");
            return UsageError;
        }
        catch (DbException e)
        {
            // Provider messages name the server, never the password.
            console.MarkupLine($"[red]The database could not be used:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}
