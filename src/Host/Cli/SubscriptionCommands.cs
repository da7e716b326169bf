using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// <c>subscriptions status|pause|resume|reset|rebuild</c>: the durable subscriptions and projections of the configured
/// database, through the <see cref="SubscriptionOffice"/> of a node started for the command (port 0 unless <c>--port</c>
/// is given). With the cluster's <c>--seed</c> nodes it joins the running cluster and talks to the subscriptions where
/// they run; without, it forms a cluster of its own and runs them itself for as long as the command takes (a rebuild
/// then replays to the end before the command returns).
/// </summary>
public static class SubscriptionCommands
{
    /// <summary>Exit code when the subscription does not exist or the operation was refused.</summary>
    public const int OperationFailed = 3;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Builds the <c>subscriptions</c> command.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="node">The node options shared by every command.</param>
    /// <param name="guarded">Runs a job with the configuration arguments, turning configuration errors into messages.</param>
    public static Command Create(IAnsiConsole console, NodeCommandLineOptions node, Func<ParseResult, Func<string[], Task<int>>, Task<int>> guarded)
    {
        var subscriptions = new Command("subscriptions",
            "Durable subscriptions and projections: checkpoint, head of the journal, lag, state; pause, resume, reset or rebuild one.");

        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var only = new Option<string?>("--name") { Description = "Only this subscription." };
        var status = new Command("status", "Show every subscription (or one): state, checkpoint, head, lag in events and seconds, last error.") { only, json };
        subscriptions.Subcommands.Add(Verb(status, parse => async client =>
        {
            var statuses = await client.StatusAsync(parse.GetValue(only)).ConfigureAwait(false);
            Print(console, statuses, parse.GetValue(json));
            return 0;
        }));

        subscriptions.Subcommands.Add(Named("pause", "Stop a subscription's progress until it is resumed (kept across restarts).",
            (client, name, _) => client.PauseAsync(name)));
        subscriptions.Subcommands.Add(Named("resume", "Let a paused subscription continue from its checkpoint.",
            (client, name, _) => client.ResumeAsync(name)));

        var to = new Option<long>("--to") { Description = "The new checkpoint (journal position); the next event read is the first after it.", DefaultValueFactory = _ => 0 };
        var rerun = new Option<bool>("--rerun")
        {
            Description = "Run the events after the new checkpoint again: their processed-event rows are deleted, so the guarded handlers apply their effects " +
                "(and emit their follow-ups) again. Without it they skip every event whose row is kept.",
        };
        subscriptions.Subcommands.Add(Named("reset",
            "Move a subscription's checkpoint (default: to the start of the journal); it continues from there, its guarded handlers skipping what they processed unless --rerun.",
            (client, name, parse) => client.ResetAsync(name, parse.GetValue(to), parse.GetValue(rerun)), [to, rerun]));

        var noWait = new Option<bool>("--no-wait") { Description = "Return once the rebuild has started instead of waiting until the projection has caught up." };
        subscriptions.Subcommands.Add(Named("rebuild", "Clear a projection's tables, reset its checkpoint and replay the journal, while the rest keeps running.",
            (client, name, _) => client.RebuildAsync(name), [noWait], waitUntilCaughtUp: parse => !parse.GetValue(noWait)));
        return subscriptions;

        Command Named(string verb, string description, Func<ISubscriptionsClient, string, ParseResult, Task<SubscriptionOperationCompleted>> operation,
            IReadOnlyList<Option>? options = null, Func<ParseResult, bool>? waitUntilCaughtUp = null)
        {
            var name = new Argument<string>("name") { Description = "The subscription or projection (see subscriptions status)." };
            var command = new Command(verb, description) { name };
            foreach (var option in options ?? [])
            {
                command.Options.Add(option);
            }

            return Verb(command, parse => async client =>
            {
                var completed = await operation(client, parse.GetValue(name)!, parse).ConfigureAwait(false);
                console.MarkupLine($"[green]{Markup.Escape(completed.Name)}[/]: {Markup.Escape(completed.Operation)} done.");
                var statuses = new[] { completed.Status };
                if (waitUntilCaughtUp?.Invoke(parse) == true)
                {
                    statuses = [await WaitAsync(console, client, completed.Name).ConfigureAwait(false)];
                }

                Print(console, statuses, asJson: false);
                return 0;
            });
        }

        Command Verb(Command command, Func<ParseResult, Func<ISubscriptionsClient, Task<int>>> run)
        {
            command.TreatUnmatchedTokensAsErrors = false;
            command.SetAction((parseResult, _) =>
                guarded(parseResult, configuration => RunAsync(console, configuration, node.Overrides(parseResult), run(parseResult))));
            return command;
        }
    }

    private static Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments, Dictionary<string, string?> overrides,
        Func<ISubscriptionsClient, Task<int>> operation)
    {
        overrides.TryAdd("Logging:LogLevel:Akka", "Error");
        return CommandNode.RunAsync(console, configurationArguments, overrides, async host =>
        {
            try
            {
                return await operation(host.Services.GetRequiredService<ISubscriptionsClient>()).ConfigureAwait(false);
            }
            catch (SubscriptionOperationException e)
            {
                console.MarkupLine($"[red]{Markup.Escape(e.Failure.Code.ToString())}:[/] {Markup.Escape(e.Failure.Reason)}");
                return OperationFailed;
            }
        });
    }

    private static async Task<SubscriptionStatus> WaitAsync(IAnsiConsole console, ISubscriptionsClient client, string name)
    {
        SubscriptionStatus status = (await client.StatusAsync(name).ConfigureAwait(false))[0];
        await console.Status().StartAsync("Replaying…", async context =>
        {
            while (status.State is SubscriptionState.Rebuilding or SubscriptionState.Starting || status.LagEvents > 0 && status.State == SubscriptionState.Running)
            {
                context.Status($"Replaying {Markup.Escape(name)}: {status.Position:N0} of {status.Head:N0}");
                await Task.Delay(250).ConfigureAwait(false);
                status = (await client.StatusAsync(name).ConfigureAwait(false))[0];
            }
        }).ConfigureAwait(false);
        return status;
    }

    private static void Print(IAnsiConsole console, IReadOnlyList<SubscriptionStatus> statuses, bool asJson)
    {
        if (asJson)
        {
            // Raw, so that nothing wraps or styles the JSON.
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(statuses, Json));
            return;
        }

        var nodes = statuses.Select(s => s.Node).OfType<string>().Distinct().ToArray();
        var table = new Table().RoundedBorder().Title($"Subscriptions ({statuses.Count})")
            .Caption(nodes.Length == 0 ? "not running on any node" : $"running on {string.Join(", ", nodes)}");
        foreach (var column in new[] { "Name", "Source", "State", "Checkpoint", "Head", "Lag", "Lag s", "Redelivered", "DLQ/parked", "Last error" })
        {
            table.AddColumn(column);
        }

        foreach (var column in table.Columns.Skip(3).Take(6))
        {
            column.RightAligned();
        }

        foreach (var s in statuses)
        {
            var state = s.State switch
            {
                SubscriptionState.Running => "[green]running[/]",
                SubscriptionState.Paused => "[yellow]paused[/]",
                SubscriptionState.Stalled => "[red]stalled[/]",
                SubscriptionState.Unreachable => "[red]unreachable[/]",
                var other => other.ToString().ToLowerInvariant(),
            };
            table.AddRow(
                $"{Markup.Escape(s.Name)}\n[grey]{s.Kind.ToString().ToLowerInvariant()} · {s.Profile}[/]",
                Markup.Escape(s.Source),
                state,
                Number(s.Checkpoint),
                Number(s.Head),
                Number(s.LagEvents),
                s.LagSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                Number(s.Redeliveries),
                $"{s.DeadLetters}/{s.Parked}",
                Markup.Escape(s.LastError is { } error ? Shorten(error, 60) : "-"));
        }

        console.Write(table);
    }

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
