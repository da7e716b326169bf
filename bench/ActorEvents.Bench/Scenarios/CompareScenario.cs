using ActorEvents.Actors.Configuration;
using ActorEvents.Bench.Infrastructure;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// Pipeline, baseline and ceiling interleaved (A B C A B C …) in one process, each run on a fresh database, so
/// that drift of the machine hits all three alike. Ratios are computed per round from events/s.
/// </summary>
internal static class CompareScenario
{
    public const string PipelineOverBaseline = "pipeline/baseline";
    public const string JournalOverCeiling = "journal/ceiling";

    public const string CpuPerEvent = "pipeline/baseline CPU per event";

    public const string GroupCommitOverPlugin = "group-commit/plugin";

    public static async Task<(List<BenchResult> Results, Dictionary<string, RatioSummary> Ratios, Dictionary<string, RatioSummary> CpuRatios, List<string> Summary)> RunAsync(
        BenchOptions options, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var database = options.DatabaseFor(BenchScenario.Compare);
        var settings = PipelineHostSettings.From(options);
        var results = new List<BenchResult>();
        var pipelineOverBaseline = new List<double>();
        var journalOverCeiling = new List<double>();
        var cpuPerEvent = new List<double>();
        var groupCommitOverPlugin = new List<double>();
        var writerAb = options.WriterAb && database != BenchDatabase.InMem && options.JournalWriter == JournalWriter.GroupCommit;

        // Round 0, discarded: the first host in a process spends seconds JIT-compiling Akka and the runtime (tier-0 → tier-1),
        // which would land in round 1's pipeline window only. A short unmeasured pipeline and baseline take that cost.
        if (options.Warmup > TimeSpan.Zero)
        {
            var jitWarmup = options with { Duration = options.Warmup, Commands = null, Warmup = TimeSpan.Zero };
            await Runs.JitWarmupAsync(options, database, progress, cancellationToken).ConfigureAwait(false);
            await Runs.BaselineAsync(jitWarmup, database, Runs.Spec(jitWarmup), progress,
                "round 0 · baseline (JIT warm-up, discarded)", 0, cancellationToken).ConfigureAwait(false);
        }

        for (var round = 1; round <= options.Rounds; round++)
        {
            var pipeline = await Runs.PipelineAsync(options, database, settings, Runs.Spec(options), options.Aggregates, progress,
                $"round {round} · pipeline", "pipeline", null, round, cancellationToken).ConfigureAwait(false);
            var baseline = await Runs.BaselineAsync(options, database, Runs.Spec(options), progress,
                $"round {round} · baseline", round, cancellationToken).ConfigureAwait(false);
            var ceiling = await Runs.CeilingAsync(options, database, progress, $"round {round} · ceiling", round, cancellationToken)
                .ConfigureAwait(false);
            var pluginBaseline = writerAb
                ? await Runs.BaselineAsync(options, database, Runs.Spec(options), progress, $"round {round} · baseline, plugin writer", round,
                    cancellationToken, JournalWriter.Plugin).ConfigureAwait(false)
                : null;
            results.Add(pipeline);
            results.Add(baseline);
            if (ceiling is not null)
            {
                results.Add(ceiling);
            }

            if (pluginBaseline is not null)
            {
                results.Add(pluginBaseline);
                if (pluginBaseline.EventsPerSec > 0)
                {
                    groupCommitOverPlugin.Add(baseline.EventsPerSec / pluginBaseline.EventsPerSec);
                }
            }

            if (baseline.EventsPerSec > 0)
            {
                pipelineOverBaseline.Add(pipeline.EventsPerSec / baseline.EventsPerSec);
            }

            if (pipeline.CpuUsPerCommand is { } pipelineCpu && baseline.CpuUsPerCommand is > 0)
            {
                // Same events per command on both sides: the ratio per command is the ratio per event.
                cpuPerEvent.Add(pipelineCpu / baseline.CpuUsPerCommand.Value);
            }

            if (ceiling is { EventsPerSec: > 0 })
            {
                journalOverCeiling.Add(baseline.EventsPerSec / ceiling.EventsPerSec);
            }
        }

        var ratios = new Dictionary<string, RatioSummary>
        {
            [PipelineOverBaseline] = RatioSummary.Of(pipelineOverBaseline,
                "events/s of the full pipeline ÷ events/s of bare sharded persistent actors, same round"),
            [JournalOverCeiling] = RatioSummary.Of(journalOverCeiling,
                database == BenchDatabase.InMem
                    ? "n/a: the in-memory journal has no database ceiling"
                    : $"events/s of bare persistent actors ({options.JournalWriter} journal writer) ÷ raw 100-row INSERT transactions, same round"),
        };
        if (writerAb)
        {
            ratios[GroupCommitOverPlugin] = RatioSummary.Of(groupCommitOverPlugin,
                "events/s of the baseline on the group-commit journal writer ÷ on Akka.Persistence.Sql's own writer, same round (the write path's before/after)");
        }

        var cpuRatios = new Dictionary<string, RatioSummary>
        {
            [CpuPerEvent] = RatioSummary.Of(cpuPerEvent, "process CPU time per event of the pipeline ÷ that of the baseline, same round (1 = no overhead)"),
        };
        var summary = new List<string>();
        foreach (var (name, ratio) in ratios.Concat(cpuRatios))
        {
            summary.Add(ratio.Median is { } median
                ? $"{name}: median {median:0.000} (min {ratio.Min:0.000}, max {ratio.Max:0.000}) over {ratio.Values.Count} rounds"
                : $"{name}: n/a");
        }

        return (results, ratios, cpuRatios, summary);
    }
}
