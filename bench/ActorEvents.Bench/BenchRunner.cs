using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Bench.Scenarios;
using Akka.Actor;

namespace ActorEvents.Bench;

/// <summary>Runs one scenario in-process and returns its report. The CLI and the smoke tests both call this.</summary>
public static class BenchRunner
{
    /// <summary>Runs <see cref="BenchOptions.Scenario"/>.</summary>
    /// <param name="options">What to run.</param>
    /// <param name="progress">Live progress sink (null: none).</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <exception cref="ArgumentException">An option is out of range or does not fit the scenario.</exception>
    /// <exception cref="InvalidOperationException">A run failed (e.g. PostgreSQL connection string missing).</exception>
    public static async Task<BenchReport> RunAsync(BenchOptions options, IBenchProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        progress ??= NullBenchProgress.Instance;
        var database = options.DatabaseFor(options.Scenario);
        if (database == BenchDatabase.Postgres)
        {
            _ = BenchDb.PostgresConnectionString(); // fail before anything starts
        }

        var started = DateTimeOffset.UtcNow;
        using var sampler = options.AllocationProfile ? new Infrastructure.AllocationSampler() : null;
        Infrastructure.AllocationSampler.Current = sampler;
        try
        {
            return await RunScenarioAsync(options, database, started, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Infrastructure.AllocationSampler.Current = null;
        }
    }

    private static async Task<BenchReport> RunScenarioAsync(
        BenchOptions options, BenchDatabase database, DateTimeOffset started, IBenchProgress progress, CancellationToken cancellationToken)
    {
        List<BenchResult> results;
        Dictionary<string, RatioSummary>? ratios = null;
        Dictionary<string, RatioSummary>? cpuRatios = null;
        var summary = new List<string>();
        switch (options.Scenario)
        {
            case BenchScenario.Pipeline:
                results =
                [
                    await Runs.PipelineAsync(options, database, PipelineHostSettings.From(options), Runs.Spec(options), options.Aggregates,
                        progress, "pipeline", "pipeline", null, null, cancellationToken).ConfigureAwait(false),
                ];
                break;
            case BenchScenario.Baseline:
                results = [await Runs.BaselineAsync(options, database, Runs.Spec(options), progress, "baseline", null, cancellationToken).ConfigureAwait(false)];
                break;
            case BenchScenario.Ceiling:
                var ceiling = await Runs.CeilingAsync(options, database, progress, "ceiling", null, cancellationToken).ConfigureAwait(false);
                results = ceiling is null ? [] : [ceiling];
                if (ceiling is null)
                {
                    summary.Add("ceiling: n/a for the in-memory journal (there is no database); use --db sqlite or --db postgres.");
                }

                break;
            case BenchScenario.Compare:
                (results, ratios, cpuRatios, summary) = await CompareScenario.RunAsync(options, progress, cancellationToken).ConfigureAwait(false);
                break;
            case BenchScenario.Recovery:
                (results, summary) = await RecoveryScenario.RunAsync(options, progress, cancellationToken).ConfigureAwait(false);
                break;
            case BenchScenario.Scale:
                (results, summary) = await ScaleScenario.RunAsync(options, progress, cancellationToken).ConfigureAwait(false);
                break;
            case BenchScenario.Mediator:
                (results, summary) = await MediatorScenario.RunAsync(options, progress, cancellationToken).ConfigureAwait(false);
                break;
            case BenchScenario.Subscriptions:
                (results, ratios, summary) = await SubscriptionsScenario.RunAsync(options, database, progress, cancellationToken).ConfigureAwait(false);
                break;
            case BenchScenario.Broker:
                (results, ratios, summary) = await BrokerScenario.RunAsync(options, database, progress, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"Unknown scenario {options.Scenario}.");
        }

        return new BenchReport
        {
            Scenario = ScenarioName(options.Scenario),
            StartedAt = started,
            FinishedAt = DateTimeOffset.UtcNow,
            CommandLine = options.CommandLine,
            Environment = Describe(options, database),
            Results = results,
            Ratios = ratios,
            CpuRatios = cpuRatios,
            Summary = summary,
        };
    }

    /// <summary>The CLI name of a scenario.</summary>
    public static string ScenarioName(BenchScenario scenario) => scenario.ToString().ToLowerInvariant();

    private static Dictionary<string, string> Describe(BenchOptions options, BenchDatabase database)
    {
        static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string>
        {
            ["machine"] = Invariant($"{System.Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}"),
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["gc"] = GCSettings.IsServerGC ? "server" : "workstation" + (GCSettings.LatencyMode == GCLatencyMode.Interactive ? " concurrent" : string.Empty),
            ["akka"] = typeof(ActorSystem).Assembly.GetName().Version?.ToString() ?? "?",
            ["db"] = BenchDb.NameOf(database),
            ["duration"] = options.Commands is { } commands ? Invariant($"{commands} commands")
                : options.Scenario == BenchScenario.Broker ? Invariant($"{BrokerScenario.DefaultMessages} commands")
                : Invariant($"{options.Duration.TotalSeconds:0.###} s"),
            ["warmup"] = Invariant($"{options.Warmup.TotalSeconds:0.###} s"),
            ["callers"] = Invariant($"{options.Callers}"),
            ["aggregates"] = Invariant($"{options.Aggregates}"),
            ["prime"] = options.Prime ? "every aggregate touched once before the warm-up" : "off",
            ["eventsPerCommand"] = Invariant($"{options.EventsPerCommand}"),
            ["handlersPerEvent"] = Invariant($"{options.HandlersPerEvent}"),
            ["maxConcurrentHandlers"] = options.MaxConcurrentHandlers?.ToString(CultureInfo.InvariantCulture) ?? "runtime default",
            ["parallel"] = options.Parallel ? "true" : "false",
            ["ordering"] = options.Ordering.ToString(),
            ["replyMode"] = options.ReplyMode.ToString(),
            ["handlerWork"] = options.HandlerWork?.ToString().ToLowerInvariant() ?? "scenario default",
            ["payloadBytes"] = Invariant($"{options.PayloadBytes}"),
            ["snapshotEvery"] = Invariant($"{options.SnapshotEvery}"),
            ["shards"] = Invariant($"{options.Shards}"),
            ["rounds"] = Invariant($"{options.Rounds}"),
            ["subscriptions"] = Invariant($"{options.Subscriptions}"),
            ["rate"] = Invariant($"{options.Rate} commands/s"),
            ["prefetch"] = Invariant($"{options.Prefetch}"),
            ["publisherBatch"] = options.PublisherBatch?.ToString(CultureInfo.InvariantCulture) ?? "runtime default",
            ["publisherPollInterval"] = options.PublisherPollInterval is { } poll ? Invariant($"{poll.TotalMilliseconds} ms") : "runtime default",
            ["sourcePollInterval"] = options.SourcePollInterval is { } sourcePoll ? Invariant($"{sourcePoll.TotalMilliseconds} ms") : "runtime default",
            ["deduplicate"] = options.Deduplicate ? "true" : "false",
            ["hoconTuning"] = options.HoconTuning ? string.Join(", ", Infrastructure.JournalTuning.Files().Select(Path.GetFileName)) : "off",
            ["loadAverageAtStart"] = Scenarios.SystemLoad.OneMinute()?.ToString(CultureInfo.InvariantCulture) ?? "?",
        };
    }
}
