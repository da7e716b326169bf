using System.Diagnostics;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Bench.Domain;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Messages;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// Recovery time of one aggregate with 1k / 10k / 100k events, without and with snapshots (Aggregates:SnapshotEvery),
/// on the production runtime: the aggregate is populated, then for every measurement a fresh host is started on
/// the same database, the aggregate's shard is started by a command to an empty sibling in the same shard, and the
/// time from the first command to the populated aggregate until its reply is recorded. Without snapshots, each size is also
/// measured on an aggregate whose rows are <c>bench.emitted</c> v1 (the v2 rows rewritten in the database to the v1 shape), read
/// through the bench's upcaster: the cost of upcasting on recovery is the ratio of the two.
/// </summary>
internal static class RecoveryScenario
{
    private const int EventsPerPopulateCommand = 100;
    private static readonly int[] Sizes = [1_000, 10_000, 100_000];

    public static async Task<(List<BenchResult> Results, List<string> Summary)> RunAsync(
        BenchOptions options, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var database = options.DatabaseFor(BenchScenario.Recovery);
        if (database == BenchDatabase.InMem)
        {
            throw new ArgumentException("recovery needs a durable journal that survives a host restart: use --db sqlite or --db postgres.");
        }

        int[] sizes = [.. Sizes.Where(size => size <= options.RecoveryMaxEvents)];
        if (sizes.Length == 0)
        {
            sizes = [options.RecoveryMaxEvents];
        }

        var results = new List<BenchResult>();
        var summary = new List<string>();
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        foreach (var snapshots in new[] { false, true })
        {
            var settings = new PipelineHostSettings
            {
                HandlersPerEvent = 0,
                SnapshotEvery = snapshots ? options.RecoverySnapshotEvery : 0,
                Shards = options.Shards,
                CommandTimeout = TimeSpan.FromMinutes(5),
            };
            var kind = snapshots ? $"snapshot every {options.RecoverySnapshotEvery}" : "no snapshot";
            var variant = snapshots ? "snap" : "plain";
            string[] variants = snapshots ? [variant] : [variant, V1Variant];
            await PopulateAsync(db, settings, sizes, variants, progress, kind, cancellationToken).ConfigureAwait(false);
            if (!snapshots)
            {
                foreach (var size in sizes)
                {
                    await RewriteAsV1Async(db, AggregateId(size, V1Variant), cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var size in sizes)
            {
                var label = $"recovery · {size:N0} events · {kind}";
                var result = await MeasureAsync(db, settings, options, size, variant, progress, label, kind, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                summary.Add($"{size:N0} events, {kind}: median {result.P50Ms:0.0} ms to first reply (max {result.MaxMs:0.0} ms)");
                if (!snapshots)
                {
                    const string v1Kind = "no snapshot, v1 rows (upcast)";
                    var upcast = await MeasureAsync(db, settings, options, size, V1Variant, progress, $"recovery · {size:N0} events · {v1Kind}", v1Kind, cancellationToken)
                        .ConfigureAwait(false);
                    results.Add(upcast);
                    summary.Add($"{size:N0} events, {v1Kind}: median {upcast.P50Ms:0.0} ms to first reply (max {upcast.MaxMs:0.0} ms); "
                        + $"v1/v2 = {upcast.P50Ms / result.P50Ms:0.00}x");
                }
            }
        }

        return (results, summary);
    }

    /// <summary>The variant whose rows are rewritten to <c>bench.emitted</c> v1.</summary>
    private const string V1Variant = "v1";

    private static string AggregateId(int size, string variant) => $"recover-{size}-{variant}";

    /// <summary>
    /// Rewrites an aggregate's rows as the v1 shape stored them (<c>bench.emitted</c> v1: its payload was called <c>body</c>),
    /// which only the upcaster reads now: the runtime always writes v2.
    /// </summary>
    private static Task RewriteAsV1Async(BenchDb db, string aggregateId, CancellationToken cancellationToken)
    {
        string Rewrite(string text) =>
            $"replace(replace(replace({text}, '\"schemaVersion\":2', '\"schemaVersion\":1'), '\"version\":2,\"data\"', '\"version\":1,\"data\"'), '\"payload\":', '\"body\":')";
        var message = db.Kind == BenchDatabase.Postgres
            ? $"convert_to({Rewrite("convert_from(message, 'UTF8')")}, 'UTF8')"
            : $"CAST({Rewrite("CAST(message AS TEXT)")} AS BLOB)";
        return db.ExecuteAsync($"UPDATE journal SET message = {message} WHERE persistence_id = '{BenchAggregate.AggregateName}-{aggregateId}'", cancellationToken);
    }

    private static async Task PopulateAsync(
        BenchDb db, PipelineHostSettings settings, int[] sizes, string[] variants, IBenchProgress progress, string kind, CancellationToken cancellationToken)
    {
        var label = $"recovery · populate · {kind}";
        progress.RunStarted(label);
        var scope = new BenchProgressScope(progress, label);
        scope.Phase("starting host");
        await using var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false);
        scope.Phase("populating");
        long total = sizes.Sum(size => (long)size) * variants.Length;
        long written = 0;
        foreach (var (size, variant) in sizes.SelectMany(size => variants.Select(variant => (size, variant))))
        {
            var id = AggregateId(size, variant);
            for (var done = 0; done < size;)
            {
                var events = Math.Min(EventsPerPopulateCommand, size - done);
                var result = await host.Client.SendAsync(new BenchCommand(id, events, 100), null, cancellationToken).ConfigureAwait(false);
                if (result is not CommandAccepted)
                {
                    throw new InvalidOperationException($"Populating {id} failed at event {done}: {result}");
                }

                done += events;
                written += events;
                scope.Detail((double)written / total, $"{written:N0}/{total:N0} events");
            }
        }

        // Let the last snapshot land before the host stops.
        await Task.Delay(TimeSpan.FromMilliseconds(settings.SnapshotEvery > 0 ? 500 : 0), cancellationToken).ConfigureAwait(false);
        scope.Phase("stopping host");
        progress.RunFinished(label, null);
    }

    private static async Task<BenchResult> MeasureAsync(
        BenchDb db, PipelineHostSettings settings, BenchOptions options, int size, string variant, IBenchProgress progress, string label,
        string kind, CancellationToken cancellationToken)
    {
        progress.RunStarted(label);
        var scope = new BenchProgressScope(progress, label);
        var id = AggregateId(size, variant);
        var sibling = SiblingInSameShard(id, settings.Shards);
        var histogram = LoadDriver.NewHistogram();
        long allocated = 0;
        long peakWorkingSet = 0;
        double totalSeconds = 0;
        var coldStarts = new List<double>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            scope.Phase($"round {round}/{options.Rounds}: starting host");
            await using var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false);

            // Starts the shard (allocation, region and shard actors) without touching the populated aggregate.
            var cold = Stopwatch.GetTimestamp();
            Expect(await host.Client.SendAsync(new BenchCommand(sibling, 1, 10), null, cancellationToken).ConfigureAwait(false), sibling);
            coldStarts.Add(Stopwatch.GetElapsedTime(cold).TotalMilliseconds);

            scope.Phase($"round {round}/{options.Rounds}: recovering");
            var allocatedBefore = GC.GetTotalAllocatedBytes(true);
            var started = Stopwatch.GetTimestamp();
            var result = await host.Client.SendAsync(new BenchCommand(id, 1, 10), null, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            allocated += GC.GetTotalAllocatedBytes(true) - allocatedBefore;
            peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
            var accepted = Expect(result, id);
            if (accepted.Events[0].SequenceNr < size)
            {
                throw new InvalidOperationException($"{id} recovered only to sequence {accepted.Events[0].SequenceNr - 1}, expected at least {size}.");
            }

            LoadDriver.Record(histogram, started);
            totalSeconds += elapsed.TotalSeconds;
            scope.Detail((double)round / options.Rounds, $"{elapsed.TotalMilliseconds:N1} ms");
            scope.Phase($"round {round}/{options.Rounds}: stopping host");
        }

        var rounds = options.Rounds;
        var medianMs = histogram.GetValueAtPercentile(50) / 1000.0;
        var measured = new BenchResult
        {
            Scenario = "recovery",
            Variant = $"{size:N0} events, {kind}",
            Db = db.Name,
            Commands = rounds,
            Events = (long)size * rounds,
            Callers = 1,
            DurationSec = Math.Round(totalSeconds, 3),
            CommandsPerSec = rounds / totalSeconds,
            EventsPerSec = (double)size * rounds / totalSeconds,
            P50Ms = medianMs,
            P95Ms = histogram.GetValueAtPercentile(95) / 1000.0,
            P99Ms = histogram.GetValueAtPercentile(99) / 1000.0,
            MaxMs = HdrHistogram.HistogramExtensions.GetMaxValue(histogram) / 1000.0,
            AllocatedBytesPerCommand = (double)allocated / rounds,
            PeakWorkingSetBytes = peakWorkingSet,
            Notes = $"fresh host per round; first command to the shard took {coldStarts.Order().ElementAt(coldStarts.Count / 2):N0} ms (median); " +
                    "eventsPerSec = events of state restored per second of recovery (replayed, or covered by the snapshot)",
        };
        progress.RunFinished(label, measured);
        return measured;
    }

    private static CommandAccepted Expect(CommandResult result, string id) =>
        result as CommandAccepted ?? throw new InvalidOperationException($"The command to {id} was not accepted: {result}");

    /// <summary>An id that the runtime's extractor puts into the same shard as <paramref name="id"/>.</summary>
    private static string SiblingInSameShard(string id, int shards)
    {
        var extractor = new AggregateMessageExtractor(shards);
        string ShardOf(string entity) => extractor.ShardId(entity, new AggregateRequest(new BenchCommand(entity, 1, 0), "x", "x", null));
        var shard = ShardOf(id);
        while (true)
        {
            var candidate = $"warm-{Guid.NewGuid():N}";
            if (ShardOf(candidate) == shard)
            {
                return candidate;
            }
        }
    }
}
