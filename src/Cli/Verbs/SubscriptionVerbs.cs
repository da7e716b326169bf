using System.CommandLine;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using Spectre.Console;

namespace ActorEvents.Cli.Verbs;

/// <summary><c>subscriptions status|pause|resume|reset|rebuild</c>.</summary>
internal static class SubscriptionVerbs
{
    public static Command Create(VerbRunner runner)
    {
        var console = runner.Console;
        var output = new SubscriptionOutput(console);
        var subscriptions = new Command("subscriptions",
            "Durable subscriptions and projections: checkpoint, head of the journal, lag, state; pause, resume, reset or rebuild one.");

        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table (only JSON on standard output)." };
        var only = new Option<string?>("--name") { Description = "Only this subscription." };
        var status = new Command("status", "Show every subscription (or one): state, checkpoint, head, lag in events and seconds, last error.") { only, json };
        runner.Bind(status, async (parse, session) =>
        {
            output.Print(await session.Subscriptions.StatusAsync(parse.GetValue(only)).ConfigureAwait(false), parse.GetValue(json));
            return AdminExitCodes.Success;
        });
        subscriptions.Subcommands.Add(status);

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

        var noWait = new Option<bool>("--no-wait")
        {
            Description = "Return once the rebuild has started instead of waiting until the projection has caught up (without --admin-url nothing runs it here: it never waits).",
        };
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

            runner.Bind(command, async (parse, session) =>
            {
                var completed = await operation(session.Subscriptions, parse.GetValue(name)!, parse).ConfigureAwait(false);
                console.MarkupLine($"[green]{Markup.Escape(completed.Name)}[/]: {Markup.Escape(completed.Operation)} done.");
                var statuses = new[] { completed.Status };
                if (session.Remote && waitUntilCaughtUp?.Invoke(parse) == true)
                {
                    statuses = [await output.WaitAsync(session.Subscriptions, completed.Name).ConfigureAwait(false)];
                }
                else if (!session.Remote)
                {
                    console.MarkupLine("[grey]Written to the tables; a node takes it up when it next starts the subscription.[/]");
                }

                output.Print(statuses, asJson: false);
                return AdminExitCodes.Success;
            });
            return command;
        }
    }
}
