using System.CommandLine;
using ActorEvents.Messages;

namespace ActorEvents.Cli.Verbs;

/// <summary><c>dlq list|inspect|replay|replay-all|skip|purge</c>.</summary>
internal static class DeadLetterVerbs
{
    public static Command Create(VerbRunner runner)
    {
        var dlq = new Command("dlq", "Dead letters: (event, handler) pairs that failed for good. List, inspect, replay, skip or purge them.");
        var output = new DeadLetterOutput(runner.Console);

        var handler = new Option<string?>("--handler") { Description = "Only entries of this handler." };
        var eventType = new Option<string?>("--event-type") { Description = "Only entries of this stable event type." };
        var aggregate = new Option<string?>("--aggregate") { Description = "Only entries of this aggregate id." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table (only JSON on standard output)." };
        var list = new Command("list", "List dead letters, oldest first.") { handler, eventType, aggregate, json };
        runner.Bind(list, async (parse, session) =>
        {
            var entries = await session.DeadLetters.ListAsync(new DeadLetterFilter(parse.GetValue(handler), parse.GetValue(eventType), parse.GetValue(aggregate)))
                .ConfigureAwait(false);
            return output.List(entries, parse.GetValue(json), session.Types);
        });
        dlq.Subcommands.Add(list);

        dlq.Subcommands.Add(WithId("inspect", "Show one dead letter: event, error, stack trace, parked followers.",
            async (session, id) => output.Details(await session.DeadLetters.InspectAsync(id).ConfigureAwait(false), session.Types)));
        dlq.Subcommands.Add(WithId("replay", "Run the handler again under its retry policy; success removes the entry and releases its parked followers.",
            async (session, id) => output.Replay(await session.DeadLetters.ReplayAsync(id).ConfigureAwait(false))));
        dlq.Subcommands.Add(WithId("skip", "Remove the entry without running it and release its parked followers in order.",
            async (session, id) => output.Skipped(await session.DeadLetters.SkipAsync(id).ConfigureAwait(false))));

        var requiredHandler = new Option<string>("--handler") { Description = "The handler whose dead letters to replay.", Required = true };
        var replayAll = new Command("replay-all", "Replay every dead letter of one handler, oldest first.") { requiredHandler };
        runner.Bind(replayAll, async (parse, session) =>
            output.ReplayedAll(await session.DeadLetters.ReplayAllAsync(parse.GetValue(requiredHandler)!).ConfigureAwait(false)));
        dlq.Subcommands.Add(replayAll);

        var purge = new Command("purge", "Delete every dead letter (their parked followers are released as by a skip).");
        runner.Bind(purge, async (_, session) => output.Purged(await session.DeadLetters.PurgeAsync().ConfigureAwait(false)));
        dlq.Subcommands.Add(purge);
        return dlq;

        Command WithId(string name, string description, Func<AdminSession, long, Task<int>> run)
        {
            var id = new Argument<long>("id") { Description = "Id of the dead letter (see dlq list)." };
            var command = new Command(name, description) { id };
            runner.Bind(command, (parse, session) => run(session, parse.GetValue(id)));
            return command;
        }
    }
}
