using ActorEvents.Actors.Hosting;
using ActorEvents.Bench.Domain;
using ActorEvents.Bench.Infrastructure;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// Two sweeps on the production runtime: (1) throughput and memory as the number of aggregates grows (1k → 100k)
/// with a short Aggregates:PassivateAfter; (2) handler throughput as MaxConcurrentEventHandlers grows (1 → 64) with
/// 1 ms handlers, with efficiency = handler runs per second / (N / 1 ms).
/// </summary>
internal static class ScaleScenario
{
    private static readonly int[] AggregateCounts = [1_000, 10_000, 100_000];
    private static readonly int[] HandlerCounts = [1, 2, 4, 8, 16, 32, 64];

    public static async Task<(List<BenchResult> Results, List<string> Summary)> RunAsync(
        BenchOptions options, IBenchProgress progress, CancellationToken cancellationToken)
    {
        // Memory as aggregates grow is the runtime's, not the in-memory journal's (which keeps every event): SQLite by default.
        // The handler sweep needs tens of thousands of events/s, which only the in-memory journal sustains here.
        var aggregateDatabase = options.Database ?? BenchDatabase.Sqlite;
        var database = options.Database ?? BenchDatabase.InMem;
        var results = new List<BenchResult>();
        var summary = new List<string>();
        var calibration = await TimerCalibration.DescribeAsync().ConfigureAwait(false);
        progress.Log(calibration);

        int[] counts = [.. AggregateCounts.Where(count => count <= options.ScaleMaxAggregates)];
        if (counts.Length == 0)
        {
            counts = [options.ScaleMaxAggregates];
        }

        await Runs.JitWarmupAsync(options, BenchDatabase.InMem, progress, cancellationToken).ConfigureAwait(false);
        foreach (var count in counts)
        {
            // Handler work stays none here: this sweep is about aggregates (--handler-work shapes the handler sweep).
            var settings = PipelineHostSettings.From(options) with { PassivateAfter = options.ScalePassivateAfter, Work = HandlerWork.None };
            var result = await RunOneAsync(options, aggregateDatabase, settings, Runs.Spec(options), count,
                $"scale · {count:N0} aggregates", $"aggregates={count}", progress, cancellationToken, prime: false).ConfigureAwait(false);
            results.Add(result);
            summary.Add($"{count,7:N0} aggregates: {result.CommandsPerSec,8:N0} cmd/s, p99 {result.P99Ms:0.0} ms, " +
                        $"peak working set {result.PeakWorkingSetBytes / 1048576.0:N0} MiB, {result.AllocatedBytesPerCommand:N0} B/cmd");
        }

        var work = options.HandlerWork is null or HandlerWork.None ? HandlerWork.Delay : options.HandlerWork.Value;
        foreach (var workers in HandlerCounts.Where(n => n <= options.ScaleMaxHandlers))
        {
            // Enough independent (handler, aggregate) keys in flight to keep every worker busy.
            var callers = Math.Max(options.Callers, 2 * workers);
            var settings = PipelineHostSettings.From(options) with { MaxConcurrentHandlers = workers, Work = work };
            var result = await RunOneAsync(options, database, settings, Runs.Spec(options, callers), Math.Max(options.Aggregates, callers),
                $"scale · N={workers} handlers", $"N={workers} work={work.ToString().ToLowerInvariant()}", progress, cancellationToken)
                .ConfigureAwait(false);
            results.Add(result);
            summary.Add($"N={workers,2}: {result.HandlerRunsPerSec,8:N0} handler runs/s, efficiency {result.Efficiency:0.00} " +
                        $"(vs measured handler time {result.EfficiencyMeasured:0.00}, mean running {result.MeanRunningHandlers:0.0})");
        }

        summary.Add(calibration);
        return (results, summary);
    }

    private static async Task<BenchResult> RunOneAsync(
        BenchOptions options, BenchDatabase database, PipelineHostSettings settings, LoadSpec spec, int aggregates, string label, string variant,
        IBenchProgress progress, CancellationToken cancellationToken, bool prime = true)
    {
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("starting host");
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        BenchResult result;
        await using (var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false))
        {
            result = await Runs.MeasurePipelineAsync(host, options, settings, spec, aggregates, scope, "scale", variant, null, db.Name, cancellationToken,
                prime: prime).ConfigureAwait(false);
            var live = await LiveEntitiesAsync(host).ConfigureAwait(false);
            result = result with
            {
                Notes = $"{result.Notes}; passivate after {settings.PassivateAfter?.TotalSeconds ?? 120:0.#} s; {live} entities alive at the end",
            };
            scope.Phase("stopping host");
        }

        progress.RunFinished(label, result);
        return result;
    }

    private static async Task<string> LiveEntitiesAsync(BenchHost host)
    {
        try
        {
            var region = host.Registry.Get<AggregateRegion<BenchAggregate>>();
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            return state.Shards.Sum(shard => shard.EntityIds.Count).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is AskTimeoutException or InvalidCastException)
        {
            return "?";
        }
    }
}
