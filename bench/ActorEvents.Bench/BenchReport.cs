using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorEvents.Bench;

/// <summary>The figures of one measured run.</summary>
public sealed record BenchResult
{
    /// <summary>Scenario of the run (<c>pipeline</c>, <c>baseline</c>, <c>ceiling</c>, <c>recovery</c>, <c>scale</c>, <c>mediator</c>).</summary>
    public required string Scenario { get; init; }

    /// <summary>What distinguishes this run from its siblings (e.g. <c>N=3 parallel delay callers=64</c>).</summary>
    public string? Variant { get; init; }

    /// <summary>Database: <c>inmem</c>, <c>sqlite</c> or <c>postgres</c>.</summary>
    public required string Db { get; init; }

    /// <summary>Round of <c>compare</c> (1-based), or null.</summary>
    public int? Round { get; init; }

    /// <summary>Commands completed successfully in the measured window (for <c>ceiling</c>: rows / events per command).</summary>
    public long Commands { get; init; }

    /// <summary>Events persisted in the measured window.</summary>
    public long Events { get; init; }

    /// <summary>Handler invocations completed in the measured window.</summary>
    public long HandlerRuns { get; init; }

    /// <summary>Commands that failed or were rejected.</summary>
    public long Errors { get; init; }

    /// <summary>The first error, if any.</summary>
    public string? FirstError { get; init; }

    /// <summary>Concurrent callers (writers for <c>ceiling</c>).</summary>
    public int Callers { get; init; }

    /// <summary>Length of the measured window, in seconds.</summary>
    public double DurationSec { get; init; }

    /// <summary>Successful commands per second.</summary>
    public double CommandsPerSec { get; init; }

    /// <summary>Persisted events per second (for <c>recovery</c>: events of state restored per second, replayed or covered by the snapshot).</summary>
    public double EventsPerSec { get; init; }

    /// <summary>Handler invocations per second.</summary>
    public double? HandlerRunsPerSec { get; init; }

    /// <summary>Median latency of one command (for <c>ceiling</c>: of one 100-row transaction), ms.</summary>
    public double P50Ms { get; init; }

    /// <summary>95th percentile latency, ms.</summary>
    public double P95Ms { get; init; }

    /// <summary>99th percentile latency, ms.</summary>
    public double P99Ms { get; init; }

    /// <summary>Largest latency, ms.</summary>
    public double MaxMs { get; init; }

    /// <summary>Bytes allocated by the whole process in the measured window, per successful command.</summary>
    public double AllocatedBytesPerCommand { get; init; }

    /// <summary>Largest working set sampled in the measured window.</summary>
    public long PeakWorkingSetBytes { get; init; }

    /// <summary>CPU time of the bench process over the window as a share of all cores (1 = every core busy the whole time).</summary>
    public double? ProcessCpuShare { get; init; }

    /// <summary>
    /// CPU time the whole process spent per successful command, in microseconds: unlike the rates, it hardly depends on how
    /// much CPU other processes left to the bench, so it compares runs taken on a busy machine.
    /// </summary>
    public double? CpuUsPerCommand { get; init; }

    /// <summary>System load average (1 min) when the window closed: other processes competing for the cores.</summary>
    public double? LoadAverage { get; init; }

    /// <summary>Handler runs per second / (N / 1 ms), for runs with 1 ms handlers.</summary>
    public double? Efficiency { get; init; }

    /// <summary>Handler runs per second / (N / measured mean handler duration): the pool's utilisation, free of timer overshoot.</summary>
    public double? EfficiencyMeasured { get; init; }

    /// <summary>Mean wall time of one handler invocation, ms.</summary>
    public double? MeanHandlerMs { get; init; }

    /// <summary>Mean number of handlers running at once, sampled every 20 ms.</summary>
    public double? MeanRunningHandlers { get; init; }

    /// <summary>Runtime activity in the window: GC collections per generation and pause time, methods JIT-compiled, lock contentions.</summary>
    public string? Runtime { get; init; }

    /// <summary>With <c>--alloc-profile</c>: the types that took the most allocated bytes in the window (sampled), with their share.</summary>
    public string? Allocations { get; init; }

    /// <summary><c>subscriptions</c>: projections the node ran.</summary>
    public int? Subscriptions { get; init; }

    /// <summary><c>subscriptions</c>, no commands running: the node's journal reads per second (head queries + source reads, <see cref="ActorEvents.Actors.Subscriptions.JournalReadStats"/>).</summary>
    public double? IdleJournalReadsPerSec { get; init; }

    /// <summary><c>subscriptions</c>, no commands running: statements per second through the read side's database connections.</summary>
    public double? IdleStatementsPerSec { get; init; }

    /// <summary><c>subscriptions</c>, no commands running: CPU milliseconds the process spent per second.</summary>
    public double? IdleCpuMsPerSec { get; init; }

    /// <summary><c>subscriptions</c>, under the steady load: the node's journal reads per second.</summary>
    public double? JournalReadsPerSec { get; init; }

    /// <summary><c>subscriptions</c>, under the steady load: statements per second through the read side's connections (reads, checkpoints).</summary>
    public double? StatementsPerSec { get; init; }

    /// <summary><c>subscriptions</c>, under the steady load: CPU milliseconds the process spent per second.</summary>
    public double? CpuMsPerSec { get; init; }

    /// <summary><c>subscriptions</c>: events projected per second in the window, all projections together.</summary>
    public double? ProjectedEventsPerSec { get; init; }

    /// <summary><c>broker</c>: messages consumed (end to end, raw consumer) or confirmed (publish-only) in the window.</summary>
    public long? Messages { get; init; }

    /// <summary><c>broker</c>: messages per second from the first command (or publish) to the last message consumed (or confirmed).</summary>
    public double? MessagesPerSec { get; init; }

    /// <summary><c>broker</c>: messages confirmed by the broker per second, from the first command (or publish) to the last confirm.</summary>
    public double? PublishedPerSec { get; init; }

    /// <summary><c>broker</c>: CPU time of the local RabbitMQ server (<c>beam.smp</c>) per message in the window, µs (it shares the cores with the bench).</summary>
    public double? BrokerCpuUsPerMessage { get; init; }

    /// <summary><c>broker</c>: this run's messages/s ÷ that of the raw run it is compared with (end to end ÷ raw publish and consume).</summary>
    public double? CeilingRatio { get; init; }

    /// <summary>
    /// <c>subscriptions</c>: median time from an event's decision to its projection, ms (every projection's delivery counts);
    /// <c>broker</c>: from the event's decision (raw: the publish) to the subscriber's run.
    /// </summary>
    public double? DeliveryP50Ms { get; init; }

    /// <summary><c>subscriptions</c>: 99th percentile of that time, ms.</summary>
    public double? DeliveryP99Ms { get; init; }

    /// <summary><c>subscriptions</c>: after the load stopped, how long until every projection had every event, ms.</summary>
    public double? DrainMs { get; init; }

    /// <summary>Extra details (settings that matter for reading the figures).</summary>
    public string? Notes { get; init; }
}

/// <summary>Min, median and max of one ratio over the rounds of <c>compare</c>.</summary>
/// <param name="Min">Smallest ratio, or null when not measurable (e.g. no ceiling for the in-memory journal).</param>
/// <param name="Median">Median ratio.</param>
/// <param name="Max">Largest ratio.</param>
/// <param name="Values">The ratio of each round, in order.</param>
/// <param name="Note">Why it is null, or how it is computed.</param>
public sealed record RatioSummary(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Min,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Median,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Max,
    IReadOnlyList<double> Values,
    string? Note)
{
    /// <summary>Summarises a list of ratios.</summary>
    public static RatioSummary Of(IReadOnlyList<double> values, string? note)
    {
        if (values.Count == 0)
        {
            return new RatioSummary(null, null, null, values, note);
        }

        var sorted = values.Order().ToArray();
        var median = sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        return new RatioSummary(sorted[0], median, sorted[^1], values, note);
    }
}

/// <summary>Everything one invocation of the harness measured.</summary>
public sealed record BenchReport
{
    /// <summary>The scenario that was run.</summary>
    public required string Scenario { get; init; }

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the run ended (UTC).</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>The command line, when started from the CLI.</summary>
    public string? CommandLine { get; init; }

    /// <summary>Machine, runtime and settings that shape the figures.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>One entry per measured run.</summary>
    public required IReadOnlyList<BenchResult> Results { get; init; }

    /// <summary>
    /// For <c>compare</c>: <c>pipeline/baseline</c> and <c>journal/ceiling</c> events/s ratios; for <c>subscriptions</c>: the
    /// cost of N subscriptions over that of one (journal reads, statements, CPU; idle and loaded), without and with the shared head.
    /// </summary>
    public IReadOnlyDictionary<string, RatioSummary>? Ratios { get; init; }

    /// <summary>For <c>compare</c>: CPU time per event of the pipeline ÷ that of the baseline, per round (how many times more CPU the runtime spends).</summary>
    public IReadOnlyDictionary<string, RatioSummary>? CpuRatios { get; init; }

    /// <summary>Readable conclusions (e.g. the efficiency of the headline mediator case).</summary>
    public IReadOnlyList<string> Summary { get; init; } = [];

    /// <summary>The JSON options of the result file.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file for people too: keep × and · readable
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The report as the JSON of the result file.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
