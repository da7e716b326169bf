using ActorEvents.Actors.Configuration;
using ActorEvents.Bench.Domain;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Bench.Scenarios;

/// <summary>Which aggregate each caller writes to: callers own disjoint slices when there are enough aggregates.</summary>
internal sealed class AggregateIds
{
    private readonly string[] _ids;
    private readonly int _callers;
    private readonly int _slice;

    public AggregateIds(int aggregates, int callers, string prefix = "a")
    {
        _ids = Enumerable.Range(0, aggregates).Select(i => $"{prefix}{i}").ToArray();
        _callers = callers;
        _slice = aggregates >= callers ? aggregates / callers : 0;
    }

    /// <summary>Distinct aggregates the callers actually use.</summary>
    public int InUse => _slice == 0 ? _ids.Length : _slice * _callers;

    /// <summary>Commands per caller that touch each of its aggregates once (sequences 0 … n-1).</summary>
    public int PerCaller => Math.Max(1, _slice);

    public string For(int caller, long sequence) =>
        _slice == 0 ? _ids[caller % _ids.Length] : _ids[caller + (_callers * (int)(sequence % _slice))];
}

/// <summary>The 1-minute load average of the machine (Linux), or null.</summary>
internal static class SystemLoad
{
    public static double? OneMinute()
    {
        try
        {
            var text = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg") : null;
            return text is not null && double.TryParse(text.Split(' ')[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var load)
                ? load
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>The three runs <c>compare</c> interleaves, each usable on its own.</summary>
internal static class Runs
{
    public static LoadSpec Spec(BenchOptions options, int? callers = null) =>
        new(callers ?? options.Callers, options.Duration, options.Commands, options.Warmup);

    /// <summary>The spec with a priming pass that touches every aggregate once before the warm-up, when the options ask for it.</summary>
    public static LoadSpec Primed(LoadSpec spec, AggregateIds ids, bool prime) => prime ? spec with { PrimePerCaller = ids.PerCaller } : spec;

    /// <summary>Starts a fresh database and production host, drives it, and stops both.</summary>
    public static async Task<BenchResult> PipelineAsync(
        BenchOptions options, BenchDatabase database, PipelineHostSettings settings, LoadSpec spec, int aggregates,
        IBenchProgress progress, string label, string scenario, string? variant, int? round, CancellationToken cancellationToken)
    {
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("starting host");
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        BenchResult result;
        await using (var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false))
        {
            result = await MeasurePipelineAsync(host, options, settings, spec, aggregates, scope, scenario, variant, round, db.Name, cancellationToken)
                .ConfigureAwait(false);
            scope.Phase("stopping host");
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>Drives a started production host with bench commands and turns the window into a result.</summary>
    public static async Task<BenchResult> MeasurePipelineAsync(
        BenchHost host, BenchOptions options, PipelineHostSettings settings, LoadSpec spec, int aggregates, BenchProgressScope scope,
        string scenario, string? variant, int? round, string dbName, CancellationToken cancellationToken, string? notes = null, bool prime = true)
    {
        var eventsPerCommand = options.EventsPerCommand;
        var expectedOutcomes = eventsPerCommand * settings.HandlersPerEvent;
        var waitForHandlers = settings.ReplyMode == ReplyMode.AfterHandlers;
        var ids = new AggregateIds(aggregates, spec.Callers);
        var client = host.Client;

        async Task<string?> SendAsync(int caller, long sequence, CancellationToken token)
        {
            var command = new BenchCommand(ids.For(caller, sequence), eventsPerCommand, options.PayloadBytes);
            var result = await client.SendAsync(command, null, token).ConfigureAwait(false);
            return result switch
            {
                CommandAccepted accepted when accepted.Events.Count != eventsPerCommand =>
                    $"accepted with {accepted.Events.Count} events instead of {eventsPerCommand}",
                CommandAccepted { HandlersCompleted: false } when waitForHandlers => "accepted, but its handlers did not all finish",
                CommandAccepted accepted when waitForHandlers && accepted.HandlerOutcomes.Count != expectedOutcomes =>
                    $"{accepted.HandlerOutcomes.Count} handler outcomes instead of {expectedOutcomes}",
                CommandAccepted accepted when waitForHandlers && accepted.HandlerOutcomes.Any(o => o.Status != HandlerStatus.Succeeded) =>
                    $"a handler failed: {accepted.HandlerOutcomes.First(o => o.Status != HandlerStatus.Succeeded).Error}",
                CommandAccepted => null,
                CommandRejected rejected => $"{rejected.Code}: {rejected.Message}",
                _ => $"unexpected reply {result}",
            };
        }

        var pool = host.Load.Request;
        var workload = host.Workload;
        var load = await LoadDriver.RunAsync(Primed(spec, ids, options.Prime && prime), SendAsync, scope,
            new LoadGauges(() => pool.Running, () => (workload.Runs, workload.BusyTicks)), cancellationToken).ConfigureAwait(false);
        var workers = settings.MaxConcurrentHandlers ?? new PipelineOptions().MaxConcurrentEventHandlers;
        double? efficiency = null;
        double? measured = null;
        if (settings.Work != HandlerWork.None && load.HandlerRuns > 0)
        {
            var runsPerSecond = load.PerSecond(load.HandlerRuns);
            efficiency = runsPerSecond / (workers * 1000.0);
            measured = load.MeanHandlerMs is { } mean ? runsPerSecond / (workers * 1000.0 / mean) : null;
        }

        return Build(scenario, variant, dbName, round, load, spec.Callers, eventsPerCommand) with
        {
            HandlerRuns = load.HandlerRuns,
            HandlerRunsPerSec = load.PerSecond(load.HandlerRuns),
            Efficiency = efficiency,
            EfficiencyMeasured = measured,
            MeanHandlerMs = load.MeanHandlerMs,
            MeanRunningHandlers = load.MeanGauge,
            Notes = notes ?? $"{Describe(settings, workers, eventsPerCommand, ids.InUse)}, {JournalTuning.Describe(host.System)}",
        };
    }

    public static string Describe(PipelineHostSettings settings, int workers, int eventsPerCommand, int aggregates) =>
        $"{eventsPerCommand} ev/cmd × {settings.HandlersPerEvent} handlers, N={workers}, parallel={(settings.Parallel ? "on" : "off")}, " +
        $"{settings.Ordering}, {settings.ReplyMode}, work={settings.Work.ToString().ToLowerInvariant()}, {aggregates} aggregates, snapshots every {settings.SnapshotEvery}";

    /// <summary>
    /// A short, discarded pipeline run (as long as the warm-up): the first host in a process spends seconds JIT-compiling
    /// Akka and the runtime (tier 0 → tier 1), which would otherwise land in the first measured window only.
    /// </summary>
    public static async Task JitWarmupAsync(BenchOptions options, BenchDatabase database, IBenchProgress progress, CancellationToken cancellationToken)
    {
        if (options.Warmup <= TimeSpan.Zero)
        {
            return;
        }

        var warmup = options with { Duration = options.Warmup, Commands = null, Warmup = TimeSpan.Zero };
        await PipelineAsync(warmup, database, PipelineHostSettings.From(warmup) with { Work = HandlerWork.None }, Spec(warmup), options.Aggregates,
            progress, "JIT warm-up (discarded)", "pipeline", null, 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Bare Akka persistent actors behind the same sharding and journal, asked directly.</summary>
    public static async Task<BenchResult> BaselineAsync(
        BenchOptions options, BenchDatabase database, LoadSpec spec, IBenchProgress progress, string label, int? round, CancellationToken cancellationToken,
        JournalWriter? writer = null)
    {
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("starting host");
        var envelopeBytes = PayloadSizing.EnvelopeBytes(options.PayloadBytes);
        var payload = PayloadSizing.Payload(envelopeBytes);
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        var eventsPerCommand = options.EventsPerCommand;
        var ids = new AggregateIds(options.Aggregates, spec.Callers);
        BenchResult result;
        var journalWriter = writer ?? options.JournalWriter;
        await using (var host = await BaselineHost.StartAsync(db, options.Shards, payload, options.HoconTuning, journalWriter, cancellationToken).ConfigureAwait(false))
        {
            var region = host.Region;
            var timeout = new MediatorOptions().CommandTimeout;

            async Task<string?> SendAsync(int caller, long sequence, CancellationToken token)
            {
                var done = await region.Ask<BaselineDone>(new BaselineCommand(ids.For(caller, sequence), eventsPerCommand), timeout, token)
                    .ConfigureAwait(false);
                return done.LastSequenceNr > 0 ? null : "no events persisted";
            }

            var load = await LoadDriver.RunAsync(Primed(spec, ids, options.Prime), SendAsync, scope, null, cancellationToken).ConfigureAwait(false);
            var variant = journalWriter == options.JournalWriter ? null : $"{journalWriter.ToString().ToLowerInvariant()} writer";
            result = Build("baseline", variant, db.Name, round, load, spec.Callers, eventsPerCommand) with
            {
                Notes = $"{eventsPerCommand} × {envelopeBytes} B tagged byte[] per PersistAll, {ids.InUse} aggregates, {options.Shards} shards, " +
                        JournalTuning.Describe(host.System),
            };
            scope.Phase("stopping host");
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>Raw batched INSERTs of journal-shaped rows; null for the in-memory journal (there is no database).</summary>
    public static async Task<BenchResult?> CeilingAsync(
        BenchOptions options, BenchDatabase database, IBenchProgress progress, string label, int? round, CancellationToken cancellationToken)
    {
        if (database == BenchDatabase.InMem)
        {
            progress.Log($"{label}: n/a for the in-memory journal (there is no database to write to).");
            return null;
        }

        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("creating table");
        var envelopeBytes = PayloadSizing.EnvelopeBytes(options.PayloadBytes);
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        BenchResult result;
        await using (var writer = await CeilingWriter.CreateAsync(db, PayloadSizing.Payload(envelopeBytes), options.Aggregates,
                         options.EventsPerCommand, cancellationToken).ConfigureAwait(false))
        {
            // One writer: a "command" of the driver is one transaction of 100 rows.
            var batches = options.Commands is { } commands
                ? Math.Max(1, commands * options.EventsPerCommand / CeilingWriter.RowsPerTransaction)
                : (long?)null;
            var spec = new LoadSpec(1, options.Duration, batches, options.Warmup);
            var load = await LoadDriver.RunAsync(spec, async (_, _, token) =>
            {
                await writer.WriteBatchAsync(token).ConfigureAwait(false);
                return null;
            }, scope, null, cancellationToken).ConfigureAwait(false);
            var rows = load.Commands * CeilingWriter.RowsPerTransaction;
            var equivalentCommands = rows / (double)options.EventsPerCommand;
            result = Build("ceiling", null, db.Name, round, load, 1, options.EventsPerCommand) with
            {
                Commands = (long)equivalentCommands,
                Events = rows,
                CommandsPerSec = equivalentCommands / load.Seconds,
                EventsPerSec = rows / load.Seconds,
                AllocatedBytesPerCommand = equivalentCommands == 0 ? 0 : load.AllocatedBytes / equivalentCommands,
                CpuUsPerCommand = equivalentCommands == 0 ? null : Math.Round(load.ProcessCpu.TotalMicroseconds / equivalentCommands, 1),
                Notes = $"1 writer, {CeilingWriter.RowsPerTransaction} rows × {envelopeBytes} B per transaction; latency is per transaction",
            };
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>The common figures of a window.</summary>
    public static BenchResult Build(string scenario, string? variant, string db, int? round, LoadResult load, int callers, int eventsPerCommand) => new()
    {
        Scenario = scenario,
        Variant = variant,
        Db = db,
        Round = round,
        Commands = load.Commands,
        Events = load.Commands * eventsPerCommand,
        Errors = load.Errors,
        FirstError = load.FirstError,
        Callers = callers,
        DurationSec = Math.Round(load.Seconds, 3),
        CommandsPerSec = load.PerSecond(load.Commands),
        EventsPerSec = load.PerSecond(load.Commands * eventsPerCommand),
        P50Ms = load.PercentileMs(50),
        P95Ms = load.PercentileMs(95),
        P99Ms = load.PercentileMs(99),
        MaxMs = load.MaxMs,
        AllocatedBytesPerCommand = load.AllocatedPerCommand,
        PeakWorkingSetBytes = load.PeakWorkingSet,
        ProcessCpuShare = Math.Round(load.CpuShare, 3),
        CpuUsPerCommand = load.Commands == 0 ? null : Math.Round(load.ProcessCpu.TotalMicroseconds / load.Commands, 1),
        Runtime = load.Runtime.ToString(),
        Allocations = load.Allocations,
        LoadAverage = SystemLoad.OneMinute(),
    };
}
