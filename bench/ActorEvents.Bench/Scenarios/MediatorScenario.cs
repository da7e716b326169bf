using ActorEvents.Bench.Infrastructure;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// The mediator matrix on the in-memory journal: a command emitting 4 events, each handled by 1 handler, with
/// MaxConcurrentEventHandlers N = 1 and 3, parallel on and off, handler work none and 1 ms, 1 caller and 64 callers.
/// One host per (N, parallel); handler work and callers change between runs on the same host.
/// </summary>
internal static class MediatorScenario
{
    public const int ManyCallers = 64;

    public static async Task<(List<BenchResult> Results, List<string> Summary)> RunAsync(
        BenchOptions options, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var database = options.DatabaseFor(BenchScenario.Mediator);
        var slowWork = options.HandlerWork is null or HandlerWork.None ? HandlerWork.Delay : options.HandlerWork.Value;
        var results = new List<BenchResult>();
        var summary = new List<string>();
        var calibration = await TimerCalibration.DescribeAsync().ConfigureAwait(false);
        progress.Log(calibration);
        await Runs.JitWarmupAsync(options, database, progress, cancellationToken).ConfigureAwait(false);
        foreach (var workers in new[] { 1, 3 })
        {
            foreach (var parallel in new[] { true, false })
            {
                var hostLabel = $"mediator · N={workers} parallel={(parallel ? "on" : "off")}";
                var baseSettings = PipelineHostSettings.From(options) with { MaxConcurrentHandlers = workers, Parallel = parallel };
                progress.Log($"{hostLabel}: starting host");
                await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
                await using var host = await BenchHost.StartAsync(db, baseSettings, cancellationToken).ConfigureAwait(false);
                var primed = false;
                foreach (var work in new[] { HandlerWork.None, slowWork })
                {
                    foreach (var callers in new[] { 1, ManyCallers })
                    {
                        var settings = baseSettings with { Work = work };
                        host.Workload.Work = work;
                        var workName = work == HandlerWork.None ? "none" : $"1ms-{work.ToString().ToLowerInvariant()}";
                        var variant = $"N={workers} parallel={(parallel ? "on" : "off")} work={workName} callers={callers}";
                        var label = $"mediator · {variant}";
                        progress.RunStarted(label);
                        var scope = new BenchProgressScope(progress, label);
                        var result = await Runs.MeasurePipelineAsync(host, options, settings, Runs.Spec(options, callers),
                            Math.Max(options.Aggregates, ManyCallers), scope, "mediator", variant, null, db.Name, cancellationToken,
                            prime: !primed).ConfigureAwait(false); // the aggregates stay alive on this host: prime them once
                        primed = true;
                        results.Add(result);
                        progress.RunFinished(label, result);
                    }
                }
            }
        }

        foreach (var result in results.Where(r => r.Efficiency is not null))
        {
            summary.Add($"{result.Variant}: {result.HandlerRunsPerSec:N0} handler runs/s, efficiency {result.Efficiency:0.000} " +
                        $"(measured-time efficiency {result.EfficiencyMeasured:0.000}, mean handler {result.MeanHandlerMs:0.000} ms)");
        }

        summary.Add(calibration);
        var headline = results.FirstOrDefault(r =>
            r.Variant == $"N=3 parallel=on work=1ms-{slowWork.ToString().ToLowerInvariant()} callers={ManyCallers}");
        if (headline?.Efficiency is { } efficiency)
        {
            summary.Insert(0, $"HEADLINE 1 ms / N=3 / parallel / {ManyCallers} callers: efficiency {efficiency:0.000} " +
                              $"(target ≥ 0.9: {(efficiency >= 0.9 ? "met" : "NOT met")}); measured-time efficiency {headline.EfficiencyMeasured:0.000}");
        }

        return (results, summary);
    }
}
