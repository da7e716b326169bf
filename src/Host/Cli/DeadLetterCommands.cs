using System.CommandLine;
using System.Text.Json;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>
/// <c>dlq list|inspect|replay|replay-all|skip|purge</c>: the dead-letter store of the configured database,
/// through the <see cref="DeadLetterOffice"/> of a node started for the command (port 0 unless <c>--port</c> is
/// given). Give it the cluster's <c>--seed</c> nodes so that handlers which send commands reach the cluster's
/// aggregates. A bad id exits with <see cref="NotFound"/> and a clear message.
/// </summary>
public static class DeadLetterCommands
{
    /// <summary>Exit code when the entry does not exist or the operation failed.</summary>
    public const int NotFound = 3;

    private static readonly TimeSpan AskTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Builds the <c>dlq</c> command.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="node">The node options shared by every command.</param>
    /// <param name="guarded">Runs a job with the configuration arguments, turning configuration errors into messages.</param>
    public static Command Create(IAnsiConsole console, NodeCommandLineOptions node, Func<ParseResult, Func<string[], Task<int>>, Task<int>> guarded)
    {
        var dlq = new Command("dlq", "Dead letters: (event, handler) pairs that failed for good. List, inspect, replay, skip or purge them.");

        var handler = new Option<string?>("--handler") { Description = "Only entries of this handler." };
        var eventType = new Option<string?>("--event-type") { Description = "Only entries of this stable event type." };
        var aggregate = new Option<string?>("--aggregate") { Description = "Only entries of this aggregate id." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var list = new Command("list", "List dead letters, oldest first.") { handler, eventType, aggregate, json };
        list.TreatUnmatchedTokensAsErrors = false;
        list.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse),
            new ListDeadLetters(new DeadLetterFilter(parse.GetValue(handler), parse.GetValue(eventType), parse.GetValue(aggregate))), parse.GetValue(json))));
        dlq.Subcommands.Add(list);

        dlq.Subcommands.Add(WithId("inspect", "Show one dead letter: event, error, stack trace, parked followers.", id => new InspectDeadLetter(id)));
        dlq.Subcommands.Add(WithId("replay", "Run the handler again under its retry policy; success removes the entry and releases its parked followers.", id => new ReplayDeadLetter(id)));
        dlq.Subcommands.Add(WithId("skip", "Remove the entry without running it and release its parked followers in order.", id => new SkipDeadLetter(id)));

        var requiredHandler = new Option<string>("--handler") { Description = "The handler whose dead letters to replay.", Required = true };
        var replayAll = new Command("replay-all", "Replay every dead letter of one handler, oldest first.") { requiredHandler };
        replayAll.TreatUnmatchedTokensAsErrors = false;
        replayAll.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse),
            new ReplayAllDeadLetters(parse.GetValue(requiredHandler)!), false)));
        dlq.Subcommands.Add(replayAll);

        var purge = new Command("purge", "Delete every dead letter.");
        purge.TreatUnmatchedTokensAsErrors = false;
        purge.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse), new PurgeDeadLetters(), false)));
        dlq.Subcommands.Add(purge);
        return dlq;

        Command WithId(string name, string description, Func<long, object> request)
        {
            var id = new Argument<long>("id") { Description = "Id of the dead letter (see dlq list)." };
            var command = new Command(name, description) { id };
            command.TreatUnmatchedTokensAsErrors = false;
            command.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse), request(parse.GetValue(id)), false)));
            return command;
        }
    }

    private static Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments, Dictionary<string, string?> overrides, object request, bool asJson) =>
        CommandNode.RunAsync(console, configurationArguments, overrides, async host =>
        {
            var office = await host.Services.GetRequiredService<IRequiredActor<DeadLetterOffice>>().GetAsync().ConfigureAwait(false);
            var reply = await office.Ask<object>(request, AskTimeout).ConfigureAwait(false);

            // Followers released by a replay or skip run in this node's pools (the request pool, or the durable replay pool of
            // durable-only handlers): let them finish before it stops.
            var pipeline = host.Services.GetRequiredService<EventPipelineLoad>();
            HandlerPoolLoad[] pools = [pipeline.Request, pipeline.DurableReplay];
            var deadline = DateTime.UtcNow + AskTimeout;
            while (pools.Any(load => load.Queued > 0 || load.Running > 0 || load.Retrying > 0) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }

            return Print(console, reply, asJson, host.Services.GetRequiredService<Actors.Hosting.ActorEventsDomain>().Types);
        });

    private static int Print(IAnsiConsole console, object reply, bool asJson, MessageTypeRegistry types)
    {
        var json = ActorEventsSerializer.CreateOptions(types);
        json.WriteIndented = true;
        switch (reply)
        {
            case DeadLetterList list when asJson:
                // Raw, so that nothing wraps or styles the JSON.
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(list.Entries, json));
                return 0;
            case DeadLetterList list:
                var table = new Table().RoundedBorder().Title($"Dead letters ({list.Entries.Count})");
                foreach (var column in new[] { "Id", "Handler", "Event", "Stream", "#", "Attempts", "Last failure (UTC)", "Error", "Parked" })
                {
                    table.AddColumn(column);
                }

                foreach (var e in list.Entries)
                {
                    table.AddRow(e.Id.ToString(), Markup.Escape(e.Handler), Markup.Escape(e.Envelope.EventType), Markup.Escape(e.Envelope.StreamName),
                        e.Envelope.SequenceNr.ToString(), e.Attempts.ToString(), e.LastFailureAt.UtcDateTime.ToString("u"),
                        Markup.Escape(Shorten($"{e.ErrorType[(e.ErrorType.LastIndexOf('.') + 1)..]}: {e.ErrorMessage}", 60)), e.ParkedFollowers.Count.ToString());
                }

                console.Write(table);
                return 0;
            case DeadLetterFound found:
                var entry = found.Entry;
                var details = new Table().RoundedBorder().HideHeaders().AddColumn("").AddColumn("").Title($"Dead letter {entry.Id}");
                details.AddRow("Handler", Markup.Escape(entry.Handler));
                details.AddRow("Event", Markup.Escape($"{entry.Envelope.EventType} v{entry.Envelope.SchemaVersion} ({entry.Envelope.EventId})"));
                details.AddRow("Stream", Markup.Escape($"{entry.Envelope.StreamName} #{entry.Envelope.SequenceNr}"));
                details.AddRow("Correlation / causation", Markup.Escape($"{entry.Envelope.CorrelationId} / {entry.Envelope.CausationId}"));
                details.AddRow("Attempts", entry.Attempts.ToString());
                details.AddRow("First / last failure (UTC)", $"{entry.FirstFailureAt.UtcDateTime:u} / {entry.LastFailureAt.UtcDateTime:u}");
                details.AddRow("Error", Markup.Escape($"{entry.ErrorType}: {entry.ErrorMessage}"));
                details.AddRow("Parked followers", Markup.Escape(string.Join(", ", entry.ParkedFollowers.Select(f => $"#{f.SequenceNr} {f.EventType}")) is { Length: > 0 } parked ? parked : "none"));
                console.Write(details);
                console.WriteLine("Event payload:");
                console.WriteLine(JsonSerializer.Serialize(entry.Envelope.Event, entry.Envelope.Event.GetType(), json));
                if (entry.StackTrace is { } stack)
                {
                    console.WriteLine("Stack trace:");
                    console.WriteLine(stack);
                }

                return 0;
            case DeadLetterReplayed replayed:
                return PrintReplay(console, replayed);
            case DeadLettersReplayed all:
                var failures = all.Results.Count(r => PrintReplay(console, r) != 0);
                console.MarkupLine($"Replayed {all.Results.Count} dead letter(s): {all.Results.Count - failures} succeeded, {failures} failed again.");
                return failures == 0 ? 0 : 1;
            case DeadLetterSkipped skipped:
                console.MarkupLine($"Skipped dead letter {skipped.Id}; released {skipped.ReleasedFollowers} parked follower(s).");
                return 0;
            case DeadLettersPurged purged:
                console.MarkupLine($"Purged {purged.Removed} dead letter(s).");
                return 0;
            case DeadLetterOperationFailed failed:
                console.MarkupLine($"[red]{Markup.Escape(failed.Reason)}[/]");
                return NotFound;
            default:
                console.MarkupLine($"[red]Unexpected reply {Markup.Escape(reply.GetType().Name)}.[/]");
                return 1;
        }
    }

    private static int PrintReplay(IAnsiConsole console, DeadLetterReplayed replayed)
    {
        if (replayed.Succeeded)
        {
            console.MarkupLine($"Replayed dead letter {replayed.Id}: handled; entry removed; released {replayed.ReleasedFollowers} parked follower(s).");
            return 0;
        }

        console.MarkupLine($"[red]Replay of dead letter {replayed.Id} failed again[/]: {Markup.Escape(replayed.Error ?? "unknown error")}; the entry stays with its attempt count raised.");
        return 1;
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
