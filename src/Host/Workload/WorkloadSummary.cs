using ActorEvents.Messages;
using HdrHistogram;

namespace ActorEvents.Host.Workload;

/// <summary>The outcome of one run of the demo workload.</summary>
public sealed record WorkloadSummary
{
    /// <summary>Run id (prefix of every order id of the run).</summary>
    public required string RunId { get; init; }

    /// <summary>Commands the plan expected to send.</summary>
    public required int PlannedCommands { get; init; }

    /// <summary>Orders in the plan.</summary>
    public required int Orders { get; init; }

    /// <summary>Most commands in flight at once.</summary>
    public required int Concurrency { get; init; }

    /// <summary>Wall-clock time of the workload (node start-up excluded).</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>True when the run was stopped early (Ctrl-C or the node went down).</summary>
    public required bool Interrupted { get; init; }

    /// <summary>Commands sent and answered.</summary>
    public required long Sent { get; init; }

    /// <summary>Commands accepted.</summary>
    public required long Accepted { get; init; }

    /// <summary>Commands rejected.</summary>
    public required long Rejected { get; init; }

    /// <summary>Commands whose send threw instead of returning a result.</summary>
    public required long Failed { get; init; }

    /// <summary>Events persisted by the accepted commands (listed in their replies).</summary>
    public required long EventsPersisted { get; init; }

    /// <summary>Events persisted by commands that handlers sent (e.g. stock taken on shipment), counted from the SKU streams.</summary>
    public required long FollowUpEventsPersisted { get; init; }

    /// <summary>Handler runs reported in the replies, by status.</summary>
    public required IReadOnlyList<HandlerRunTally> HandlerRuns { get; init; }

    /// <summary>Accepted commands whose reply came before all their handlers finished (the command timeout ran out).</summary>
    public required long RepliesBeforeHandlersFinished { get; init; }

    /// <summary>Rejections by code, most frequent first, each with the scenarios that caused them.</summary>
    public required IReadOnlyList<RejectionTally> Rejections { get; init; }

    /// <summary>Persisted events by stable type name.</summary>
    public required IReadOnlyList<EventTally> EventsByType { get; init; }

    /// <summary>Command latency, send to reply.</summary>
    public required LatencySummary Latency { get; init; }

    /// <summary>Stock of the fixed SKUs before and after the run.</summary>
    public required InventorySummary Inventory { get; init; }

    /// <summary>Outcomes that contradicted the script (an expected acceptance rejected, or the reverse, or a broken stock ledger).</summary>
    public required long Surprises { get; init; }

    /// <summary>The first few surprises, described.</summary>
    public required IReadOnlyList<string> SurpriseSamples { get; init; }

    /// <summary>Commands per second.</summary>
    public double CommandsPerSecond => Elapsed > TimeSpan.Zero ? Sent / Elapsed.TotalSeconds : 0;

    /// <summary>Persisted events (own and follow-up) per second.</summary>
    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? (EventsPersisted + FollowUpEventsPersisted) / Elapsed.TotalSeconds : 0;

    /// <summary>True when something is really broken: nothing was accepted or an outcome contradicted the script.</summary>
    public bool IsBroken => Accepted == 0 || Surprises > 0 || Failed > 0;
}

/// <summary>How often one rejection code came back.</summary>
/// <param name="Code">Rejection code.</param>
/// <param name="Count">Number of commands.</param>
/// <param name="Scenarios">Which scenarios caused it, most frequent first.</param>
public sealed record RejectionTally(RejectionCode Code, long Count, IReadOnlyList<ScenarioTally> Scenarios);

/// <summary>How many rejections one scenario caused.</summary>
/// <param name="Scenario">Scenario name.</param>
/// <param name="Count">Number of commands.</param>
public sealed record ScenarioTally(string Scenario, long Count);

/// <summary>How many runs of one handler ended with one status.</summary>
/// <param name="Handler">Handler name.</param>
/// <param name="Status">Status.</param>
/// <param name="Count">Number of (event, handler) runs.</param>
public sealed record HandlerRunTally(string Handler, HandlerStatus Status, long Count);

/// <summary>How many events of one type were persisted.</summary>
/// <param name="EventType">Stable event name.</param>
/// <param name="Count">Number of events.</param>
public sealed record EventTally(string EventType, long Count);

/// <summary>Latency percentiles in milliseconds.</summary>
/// <param name="Count">Number of recorded commands.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="Max">Slowest command.</param>
/// <param name="Mean">Mean.</param>
public sealed record LatencySummary(long Count, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    /// <summary>Reads the percentiles of a histogram of microseconds.</summary>
    public static LatencySummary From(HistogramBase microseconds)
    {
        if (microseconds.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }

        static double Ms(double us) => us / 1000.0;
        return new LatencySummary(
            microseconds.TotalCount,
            Ms(microseconds.GetValueAtPercentile(50)),
            Ms(microseconds.GetValueAtPercentile(90)),
            Ms(microseconds.GetValueAtPercentile(99)),
            Ms(microseconds.GetValueAtPercentile(99.9)),
            Ms(microseconds.GetMaxValue()),
            Ms(microseconds.GetMean()));
    }
}

/// <summary>The fixed SKUs, whose streams outlive every run.</summary>
/// <param name="Skus">SKUs in the plan.</param>
/// <param name="SkusSeen">SKUs this run changed (and so knows the state of).</param>
/// <param name="OnHandBefore">Total units on hand before the run.</param>
/// <param name="OnHandAfter">Total units on hand after the run.</param>
/// <param name="EventsBefore">Events in the SKU streams before the run (from earlier runs).</param>
/// <param name="EventsAfter">Events in the SKU streams after the run.</param>
/// <param name="SkusChecked">SKUs whose ledger could be checked (not interrupted, every shipment handler reported).</param>
/// <param name="SkusUnbalanced">Checked SKUs where before + restocks − shipments ≠ after.</param>
public sealed record InventorySummary(int Skus, int SkusSeen, long OnHandBefore, long OnHandAfter, long EventsBefore, long EventsAfter,
    int SkusChecked, int SkusUnbalanced);
