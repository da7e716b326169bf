using System.CommandLine;
using ActorEvents.Actors.Configuration;
using ActorEvents.Bench.Output;
using ActorEvents.Messages;
using Spectre.Console;

namespace ActorEvents.Bench;

/// <summary>The command line: parses options into <see cref="BenchOptions"/>, runs <see cref="BenchRunner"/>, prints and saves the report.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>0 when every run succeeded, 1 on bad options or a failed run, 2 when commands failed during a run.</returns>
    public static Task<int> Main(string[] args) => BuildCommand().Parse(args).InvokeAsync();

    /// <summary>The root command with every option.</summary>
    public static RootCommand BuildCommand()
    {
        var defaults = new BenchOptions();
        var scenario = new Argument<BenchScenario>("scenario")
        {
            Description = "pipeline | baseline | ceiling | compare | recovery | scale | mediator | subscriptions | broker",
        };
        var duration = new Option<double>("--duration") { Description = "Measured seconds per run", DefaultValueFactory = _ => defaults.Duration.TotalSeconds };
        var warmup = new Option<double>("--warmup") { Description = "Unmeasured warm-up seconds per run", DefaultValueFactory = _ => defaults.Warmup.TotalSeconds };
        var db = new Option<BenchDatabase?>("--db")
        {
            Description = "inmem | sqlite | postgres (default: sqlite; mediator and scale's handler sweep: inmem). PostgreSQL reads ACTOREVENTS_TEST_POSTGRES or ActorEvents__Persistence__ConnectionString",
        };
        var aggregates = new Option<int>("--aggregates") { Description = "Distinct aggregates", DefaultValueFactory = _ => defaults.Aggregates };
        var commands = new Option<long?>("--commands") { Description = "Run this many commands instead of --duration" };
        var eventsPerCommand = new Option<int>("--events-per-command") { Description = "Events per command", DefaultValueFactory = _ => defaults.EventsPerCommand };
        var handlersPerEvent = new Option<int>("--handlers-per-event") { Description = "Handler classes per event (0–8)", DefaultValueFactory = _ => defaults.HandlersPerEvent };
        var maxConcurrent = new Option<int?>("--max-concurrent-handlers") { Description = "Pipeline:MaxConcurrentEventHandlers (default: the runtime's)" };
        var ordering = new Option<EventOrdering>("--ordering") { Description = "PerAggregate | None", DefaultValueFactory = _ => defaults.Ordering };
        var parallel = new Option<bool>("--parallel") { Description = "Pipeline:ConcurrentEventHandleEnable (true | false)", DefaultValueFactory = _ => defaults.Parallel };
        var replyMode = new Option<ReplyMode>("--reply-mode") { Description = "AfterHandlers | AfterPersist", DefaultValueFactory = _ => defaults.ReplyMode };
        var callers = new Option<int>("--callers") { Description = "Concurrent callers", DefaultValueFactory = _ => defaults.Callers };
        var handlerWork = new Option<HandlerWork?>("--handler-work") { Description = "none | delay (Task.Delay 1 ms) | spin (~1 ms CPU) | precise (1 ms on a Thread.Sleep-driven timer thread)" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of compare; repetitions of each recovery measurement", DefaultValueFactory = _ => defaults.Rounds };
        var payload = new Option<int>("--payload-bytes") { Description = "Payload characters per event", DefaultValueFactory = _ => defaults.PayloadBytes };
        var snapshotEvery = new Option<int>("--snapshot-every") { Description = "Aggregates:SnapshotEvery in throughput runs", DefaultValueFactory = _ => defaults.SnapshotEvery };
        var recoveryMax = new Option<int>("--recovery-max-events") { Description = "Cap of the recovery sizes (1k, 10k, 100k)", DefaultValueFactory = _ => defaults.RecoveryMaxEvents };
        var recoverySnapshot = new Option<int>("--recovery-snapshot-every") { Description = "SnapshotEvery of the recovery snapshot variant", DefaultValueFactory = _ => defaults.RecoverySnapshotEvery };
        var scaleAggregates = new Option<int>("--scale-max-aggregates") { Description = "Cap of the scale aggregate sweep (1k, 10k, 100k)", DefaultValueFactory = _ => defaults.ScaleMaxAggregates };
        var scaleHandlers = new Option<int>("--scale-max-handlers") { Description = "Cap of the scale handler sweep (1 … 64)", DefaultValueFactory = _ => defaults.ScaleMaxHandlers };
        var passivate = new Option<double>("--scale-passivate-after") { Description = "Aggregates:PassivateAfter seconds in the scale aggregate sweep", DefaultValueFactory = _ => defaults.ScalePassivateAfter.TotalSeconds };
        var shards = new Option<int>("--shards") { Description = "Aggregates:NumberOfShards (pipeline and baseline alike)", DefaultValueFactory = _ => defaults.Shards };
        var prime = new Option<bool>("--prime") { Description = "Touch every aggregate once before the warm-up (true | false)", DefaultValueFactory = _ => defaults.Prime };
        var allocations = new Option<bool>("--alloc-profile") { Description = "Sample allocated bytes by type in each window (diagnosis; slows the run)" };
        var hocon = new Option<bool>("--hocon-tuning") { Description = "Apply hocon/*.conf (except logging) to pipeline and baseline, as the node does (true | false)", DefaultValueFactory = _ => defaults.HoconTuning };
        var journalWriter = new Option<JournalWriter>("--journal-writer") { Description = "GroupCommit | Plugin: the SQL journal's write path (Persistence:JournalWriter) of pipeline and baseline", DefaultValueFactory = _ => defaults.JournalWriter };
        var writerAb = new Option<bool>("--writer-ab") { Description = "compare on a database: also run the baseline on the plugin's writer each round and report group-commit/plugin (true | false)", DefaultValueFactory = _ => defaults.WriterAb };
        var subscriptions = new Option<int>("--subscriptions") { Description = "subscriptions: projections compared with one", DefaultValueFactory = _ => defaults.Subscriptions };
        var rate = new Option<double>("--rate") { Description = "subscriptions: commands per second of the steady load", DefaultValueFactory = _ => defaults.Rate };
        var brokerUri = new Option<string?>("--broker-uri") { Description = "broker: AMQP URI (default: ACTOREVENTS_TEST_RABBITMQ, else amqp://guest:guest@127.0.0.1:5672/)" };
        var prefetch = new Option<int>("--prefetch") { Description = "broker: the subscriber's prefetch (SubscriberOptions.Prefetch), and the raw consumer's", DefaultValueFactory = _ => defaults.Prefetch };
        var publisherBatch = new Option<int?>("--publisher-batch") { Description = "broker: the publisher subscription's BatchSize (default: the runtime's, 500), and the raw publisher's batch" };
        var publisherPoll = new Option<double?>("--publisher-poll-ms") { Description = "broker: the publisher subscription's PollInterval in ms (default: the runtime's, 0)" };
        var sourcePoll = new Option<double?>("--source-poll-ms") { Description = "Subscriptions:SourcePollInterval in ms (default: the runtime's, 100): head watch, a caught-up subscription's read pace" };
        var dedup = new Option<bool>("--dedup") { Description = "broker: the subscriber de-duplicates by message id (SubscriberOptions.Deduplicate; true | false)", DefaultValueFactory = _ => defaults.Deduplicate };
        var output = new Option<FileInfo?>("--out") { Description = "Write the JSON report to this file" };
        var noProgress = new Option<bool>("--no-progress") { Description = "Plain progress lines instead of live bars" };

        var root = new RootCommand("ActorEvents load harness: prints a table and writes a JSON report.") { scenario };
        Option[] options =
        [
            duration, warmup, db, aggregates, commands, eventsPerCommand, handlersPerEvent, maxConcurrent, ordering, parallel, replyMode,
            callers, handlerWork, rounds, payload, snapshotEvery, recoveryMax, recoverySnapshot, scaleAggregates, scaleHandlers, passivate,
            shards, prime, hocon, journalWriter, writerAb, subscriptions, rate, brokerUri, prefetch, publisherBatch, publisherPoll, sourcePoll, dedup, allocations, output, noProgress,
        ];
        foreach (var option in options)
        {
            root.Options.Add(option);
        }

        root.SetAction(async (parse, cancellationToken) =>
        {
            BenchOptions bench;
            try
            {
                bench = new BenchOptions
                {
                    Scenario = parse.GetValue(scenario),
                    Duration = Seconds(parse.GetValue(duration), "--duration"),
                    Warmup = Seconds(parse.GetValue(warmup), "--warmup"),
                    Database = parse.GetValue(db),
                    Aggregates = parse.GetValue(aggregates),
                    Commands = parse.GetValue(commands),
                    EventsPerCommand = parse.GetValue(eventsPerCommand),
                    HandlersPerEvent = parse.GetValue(handlersPerEvent),
                    MaxConcurrentHandlers = parse.GetValue(maxConcurrent),
                    Ordering = parse.GetValue(ordering),
                    Parallel = parse.GetValue(parallel),
                    ReplyMode = parse.GetValue(replyMode),
                    Callers = parse.GetValue(callers),
                    HandlerWork = parse.GetValue(handlerWork),
                    Rounds = parse.GetValue(rounds),
                    PayloadBytes = parse.GetValue(payload),
                    SnapshotEvery = parse.GetValue(snapshotEvery),
                    RecoveryMaxEvents = parse.GetValue(recoveryMax),
                    RecoverySnapshotEvery = parse.GetValue(recoverySnapshot),
                    ScaleMaxAggregates = parse.GetValue(scaleAggregates),
                    ScaleMaxHandlers = parse.GetValue(scaleHandlers),
                    ScalePassivateAfter = Seconds(parse.GetValue(passivate), "--scale-passivate-after"),
                    Shards = parse.GetValue(shards),
                    HoconTuning = parse.GetValue(hocon),
                    JournalWriter = parse.GetValue(journalWriter),
                    WriterAb = parse.GetValue(writerAb),
                    Subscriptions = parse.GetValue(subscriptions),
                    Rate = parse.GetValue(rate),
                    BrokerUri = parse.GetValue(brokerUri),
                    Prefetch = parse.GetValue(prefetch),
                    PublisherBatch = parse.GetValue(publisherBatch),
                    PublisherPollInterval = parse.GetValue(publisherPoll) is { } pollMs ? Seconds(pollMs / 1000, "--publisher-poll-ms") : null,
                    Deduplicate = parse.GetValue(dedup),
                    SourcePollInterval = parse.GetValue(sourcePoll) is { } sourcePollMs ? Seconds(sourcePollMs / 1000, "--source-poll-ms") : null,
                    Prime = parse.GetValue(prime),
                    AllocationProfile = parse.GetValue(allocations),
                    CommandLine = "dotnet run -c Release --project bench/ActorEvents.Bench -- " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
                };
                bench.Validate();
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            return await RunAsync(bench, parse.GetValue(output), parse.GetValue(noProgress), cancellationToken).ConfigureAwait(false);
        });
        return root;
    }

    private static TimeSpan Seconds(double seconds, string option) =>
        double.IsFinite(seconds) && seconds >= 0 && seconds < 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"{option} must be between 0 and 86400 seconds.");

    private static async Task<int> RunAsync(BenchOptions options, FileInfo? output, bool noProgress, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 240; // tables in logs and files: do not wrap at 80 columns
        }

        BenchReport report;
        try
        {
            if (!noProgress && ConsoleOutput.CanAnimate)
            {
                report = null!;
                await console.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async context =>
                        report = await BenchRunner.RunAsync(options, new SpectreProgress(context), cancellationToken).ConfigureAwait(false))
                    .ConfigureAwait(false);
            }
            else
            {
                report = await BenchRunner.RunAsync(options, new PlainProgress(), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or TimeoutException or IOException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        ConsoleOutput.Write(console, report);
        if (output is not null)
        {
            output.Directory?.Create();
            await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken).ConfigureAwait(false);
            console.MarkupLine($"[grey]JSON report written to {Markup.Escape(output.FullName)}[/]");
        }

        return report.Results.Any(r => r.Errors > 0) ? 2 : 0;
    }
}
