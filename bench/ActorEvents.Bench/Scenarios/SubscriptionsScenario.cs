using System.Diagnostics;
using System.Globalization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Bench.Domain;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Messages;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// What N projections cost a node against one (issue 11, point 7). Each round starts four hosts, each on a fresh
/// database: 1 and N <see cref="BenchProjector"/>s on the bench aggregate's tag, each with per-subscription polling
/// (<c>Subscriptions:SharedJournalHead = false</c>, the behaviour before the shared head) and with the shared journal head.
/// On each host, once the projections have caught up: an idle window (nothing written), then a steady load of
/// <c>--rate</c> commands per second. Per window: the node's journal reads (<see cref="JournalReadStats"/>), the
/// statements through the read side's connections, the process's CPU time; under load also the events projected, the
/// time from an event's decision to its projection, and how long the projections took to drain once the load stopped.
/// </summary>
internal static class SubscriptionsScenario
{
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromMinutes(2);

    public static async Task<(List<BenchResult> Results, Dictionary<string, RatioSummary> Ratios, List<string> Summary)> RunAsync(
        BenchOptions options, BenchDatabase database, IBenchProgress progress, CancellationToken cancellationToken)
    {
        if (database == BenchDatabase.InMem)
        {
            throw new ArgumentException("subscriptions needs a SQL journal (subscriptions do not run on the in-memory one): use --db sqlite or --db postgres.");
        }

        var many = options.Subscriptions;
        if (options.Warmup > TimeSpan.Zero)
        {
            // The first host of a process spends seconds JIT-compiling; it would land in the first measured windows only.
            await RunOneAsync(options with { Duration = options.Warmup }, database, many, shared: true, round: null, progress, cancellationToken).ConfigureAwait(false);
        }

        var results = new List<BenchResult>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var shared in new[] { false, true })
            {
                foreach (var projections in new[] { 1, many })
                {
                    results.Add(await RunOneAsync(options, database, projections, shared, round, progress, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        var ratios = Ratios(results, many);
        return (results, ratios, Summary(ratios, many));
    }

    /// <summary>The figures whose N/1 ratio is reported.</summary>
    private static readonly (string Name, Func<BenchResult, double?> Figure)[] Figures =
    [
        ("idle journal reads/s", r => r.IdleJournalReadsPerSec),
        ("idle statements/s", r => r.IdleStatementsPerSec),
        ("idle CPU ms/s", r => r.IdleCpuMsPerSec),
        ("loaded journal reads/s", r => r.JournalReadsPerSec),
        ("loaded statements/s", r => r.StatementsPerSec),
        ("loaded CPU ms/s", r => r.CpuMsPerSec),
        ("delivery p99", r => r.DeliveryP99Ms),
    ];

    private static string Mode(bool shared) => shared ? "shared head" : "polling";

    private static string Variant(int projections, bool shared) => $"{projections} projection{(projections == 1 ? string.Empty : "s")}, {Mode(shared)}";

    /// <summary>Per round: N/1 of each figure with either mode, and shared/polling of each figure at N.</summary>
    private static Dictionary<string, RatioSummary> Ratios(List<BenchResult> results, int many)
    {
        double? Of(int round, int projections, bool shared, Func<BenchResult, double?> figure) =>
            results.FirstOrDefault(r => r.Round == round && r.Variant == Variant(projections, shared)) is { } result ? figure(result) : null;

        static IReadOnlyList<double> Quotients(IEnumerable<(double? Numerator, double? Denominator)> pairs) =>
            [.. pairs.Where(p => p.Numerator is not null && p.Denominator is > 0).Select(p => Math.Round(p.Numerator!.Value / p.Denominator!.Value, 3))];

        var rounds = results.Select(r => r.Round ?? 0).Distinct().Order().ToArray();
        var ratios = new Dictionary<string, RatioSummary>();
        foreach (var (name, figure) in Figures)
        {
            foreach (var shared in new[] { false, true })
            {
                ratios[$"{name} {many}/1 · {Mode(shared)}"] = RatioSummary.Of(
                    Quotients(rounds.Select(round => (Of(round, many, shared, figure), Of(round, 1, shared, figure)))),
                    $"{name} of {many} projections ÷ that of 1, {Mode(shared)}");
            }
        }

        foreach (var (name, figure) in Figures.Take(6))
        {
            ratios[$"{name} at {many} · shared/polling"] = RatioSummary.Of(
                Quotients(rounds.Select(round => (Of(round, many, true, figure), Of(round, many, false, figure)))),
                $"{name} of {many} projections with the shared head ÷ with per-subscription polling");
        }

        return ratios;
    }

    private static List<string> Summary(Dictionary<string, RatioSummary> ratios, int many)
    {
        string Median(string key) => ratios.TryGetValue(key, out var ratio) && ratio.Median is { } median
            ? median.ToString("0.00", CultureInfo.InvariantCulture)
            : "n/a";

        return
        [
            $"HEADLINE {many} projections ÷ 1, idle: journal reads {Median($"idle journal reads/s {many}/1 · polling")}× polling, " +
            $"{Median($"idle journal reads/s {many}/1 · shared head")}× with the shared head; CPU {Median($"idle CPU ms/s {many}/1 · polling")}× / " +
            $"{Median($"idle CPU ms/s {many}/1 · shared head")}×",
            $"HEADLINE {many} projections ÷ 1, loaded: journal reads {Median($"loaded journal reads/s {many}/1 · polling")}× polling, " +
            $"{Median($"loaded journal reads/s {many}/1 · shared head")}× with the shared head; statements {Median($"loaded statements/s {many}/1 · polling")}× / " +
            $"{Median($"loaded statements/s {many}/1 · shared head")}×; CPU {Median($"loaded CPU ms/s {many}/1 · polling")}× / {Median($"loaded CPU ms/s {many}/1 · shared head")}×",
        ];
    }

    private static async Task<BenchResult> RunOneAsync(
        BenchOptions options, BenchDatabase database, int projections, bool shared, int? round, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var variant = Variant(projections, shared);
        var label = round is { } number ? $"round {number} · {variant}" : $"JIT warm-up (discarded) · {variant}";
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("starting host");
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        var settings = PipelineHostSettings.From(options) with
        {
            HandlersPerEvent = 0, ReplyMode = ReplyMode.AfterPersist, Projections = projections, SharedJournalHead = shared,
        };
        BenchResult result;
        await using (var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false))
        {
            var ids = new AggregateIds(options.Aggregates, options.Callers);
            var eventsPerCommand = options.EventsPerCommand;
            long written = 0;

            async Task<string?> SendAsync(int caller, long sequence, CancellationToken token)
            {
                var reply = await host.Client.SendAsync(new BenchCommand(ids.For(caller, sequence), eventsPerCommand, options.PayloadBytes), null, token)
                    .ConfigureAwait(false);
                switch (reply)
                {
                    case CommandAccepted accepted:
                        Interlocked.Add(ref written, accepted.Events.Count);
                        return null;
                    case CommandRejected rejected:
                        return $"{rejected.Code}: {rejected.Message}";
                    default:
                        return $"unexpected reply {reply}";
                }
            }

            // Every aggregate once, then the idle window starts with every projection caught up and settled.
            await LoadDriver.RunAsync(new LoadSpec(options.Callers, TimeSpan.Zero, null, TimeSpan.Zero, ids.PerCaller), SendAsync, scope, null, cancellationToken)
                .ConfigureAwait(false);
            scope.Phase("catching up");
            await CaughtUpAsync(host, projections, Interlocked.Read(ref written), cancellationToken).ConfigureAwait(false);
            scope.Phase("idle");
            await Task.Delay(options.Warmup > TimeSpan.FromSeconds(1) ? options.Warmup : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            var idleStart = WindowCounters.Take(host);
            await Task.Delay(options.Duration, cancellationToken).ConfigureAwait(false);
            var idle = WindowCounters.Take(host) - idleStart;

            WindowCounters? loadStart = null;
            WindowCounters? loadEnd = null;
            HdrHistogram.HistogramBase? delivery = null;
            var gauges = new LoadGauges(null, WindowOpened: () =>
            {
                host.ReadSide.StartRecording();
                loadStart = WindowCounters.Take(host);
            }, WindowClosed: () =>
            {
                loadEnd = WindowCounters.Take(host);
                delivery = host.ReadSide.StopRecording();
            });
            var load = await LoadDriver.RunAsync(new LoadSpec(options.Callers, options.Duration, null, options.Warmup, CommandsPerSecond: options.Rate),
                SendAsync, scope, gauges, cancellationToken).ConfigureAwait(false);
            scope.Phase("draining");
            var drain = Stopwatch.StartNew();
            await CaughtUpAsync(host, projections, Interlocked.Read(ref written), cancellationToken).ConfigureAwait(false);
            var drained = drain.Elapsed;
            var loaded = loadEnd! - loadStart!;
            result = Runs.Build("subscriptions", variant, db.Name, round, load, options.Callers, eventsPerCommand) with
            {
                Subscriptions = projections,
                IdleJournalReadsPerSec = idle.PerSecond(idle.JournalReads),
                IdleStatementsPerSec = idle.PerSecond(idle.Statements),
                IdleCpuMsPerSec = idle.CpuMsPerSecond,
                JournalReadsPerSec = loaded.PerSecond(loaded.JournalReads),
                StatementsPerSec = loaded.PerSecond(loaded.Statements),
                CpuMsPerSec = loaded.CpuMsPerSecond,
                ProjectedEventsPerSec = loaded.PerSecond(loaded.Projected),
                DeliveryP50Ms = delivery is { TotalCount: > 0 } p50 ? p50.GetValueAtPercentile(50) / 1000.0 : null,
                DeliveryP99Ms = delivery is { TotalCount: > 0 } p99 ? p99.GetValueAtPercentile(99) / 1000.0 : null,
                DrainMs = Math.Round(drained.TotalMilliseconds, 1),
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"{projections} × {nameof(BenchProjector)} on {BenchReadSide.Tag}, SharedJournalHead={shared}, steady {options.Rate:0.#} cmd/s × {eventsPerCommand} events, " +
                    $"{ids.InUse} aggregates, {JournalTuning.Describe(host.System)}"),
            };
            scope.Phase("stopping host");
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>Waits until every projection has projected at least <paramref name="events"/> events.</summary>
    private static async Task CaughtUpAsync(BenchHost host, int projections, long events, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (host.ReadSide.LeastProjected(projections) < events)
        {
            if (deadline.Elapsed > CatchUpTimeout)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                    $"The projections did not catch up within {CatchUpTimeout.TotalSeconds:0} s: the slowest has {host.ReadSide.LeastProjected(projections)} of {events} events."));
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The node's counters at one moment; subtracted, over a window.</summary>
    private sealed record WindowCounters(long JournalReads, long Statements, TimeSpan Cpu, long Projected, long Timestamp, TimeSpan Elapsed = default)
    {
        public static WindowCounters Take(BenchHost host) => new(
            JournalReadStats.Of(host.System).Reads, host.Database.Statements, Environment.CpuUsage.TotalTime, host.ReadSide.TotalProjected, Stopwatch.GetTimestamp());

        private double Seconds => Math.Max(Elapsed.TotalSeconds, 1e-9);

        public double CpuMsPerSecond => Math.Round(Cpu.TotalMilliseconds / Seconds, 2);

        public double PerSecond(long count) => Math.Round(count / Seconds, 2);

        public static WindowCounters operator -(WindowCounters end, WindowCounters start) => new(
            end.JournalReads - start.JournalReads, end.Statements - start.Statements, end.Cpu - start.Cpu, end.Projected - start.Projected,
            end.Timestamp, Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp));
    }
}
