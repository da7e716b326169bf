using System.Diagnostics;
using HdrHistogram;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>Sends one command as caller <c>caller</c> (its <c>sequence</c>-th); returns null on success or an error message.</summary>
internal delegate Task<string?> SendCommand(int caller, long sequence, CancellationToken cancellationToken);

/// <summary>How long and how hard to drive a target.</summary>
/// <param name="Callers">Concurrent closed-loop callers.</param>
/// <param name="Duration">Measured window (when <paramref name="Commands"/> is null).</param>
/// <param name="Commands">Commands to complete instead of a time window.</param>
/// <param name="Warmup">Unmeasured time before the window.</param>
/// <param name="PrimePerCaller">Unmeasured commands each caller sends before the warm-up (e.g. one per aggregate it owns).</param>
/// <param name="CommandsPerSecond">
/// A steady load instead of a closed loop: the callers together send this many commands per second in the warm-up and
/// the window (each waits for its turn, and for its reply), or fewer when replies take longer than the turns allow.
/// </param>
internal sealed record LoadSpec(int Callers, TimeSpan Duration, long? Commands, TimeSpan Warmup, int PrimePerCaller = 0, double? CommandsPerSecond = null);

/// <summary>Optional live gauges sampled while the window is open.</summary>
/// <param name="RunningHandlers">Handlers running right now (averaged into <see cref="LoadResult.MeanGauge"/>).</param>
/// <param name="HandlerCounters">Handler runs and busy ticks so far (their deltas over the window land in the result).</param>
/// <param name="WindowOpened">Called right before the measured window opens (to take the scenario's own counters).</param>
/// <param name="WindowClosed">Called right after it closed.</param>
internal sealed record LoadGauges(Func<int>? RunningHandlers, Func<(long Runs, long BusyTicks)>? HandlerCounters = null, Action? WindowOpened = null,
    Action? WindowClosed = null);

/// <summary>What a window measured. Latencies are in microseconds.</summary>
internal sealed record LoadResult(
    long Commands,
    long Errors,
    string? FirstError,
    TimeSpan Elapsed,
    HistogramBase Latency,
    long AllocatedBytes,
    long PeakWorkingSet,
    double? MeanGauge,
    long HandlerRuns,
    long HandlerBusyTicks,
    TimeSpan ProcessCpu,
    RuntimeCounters Runtime,
    string? Allocations)
{
    /// <summary>CPU time of the whole process over the window, as a share of all cores (1 = every core busy).</summary>
    public double CpuShare => ProcessCpu.TotalSeconds / (Seconds * Environment.ProcessorCount);

    public double? MeanHandlerMs => HandlerRuns == 0 ? null : HandlerBusyTicks * 1000.0 / Stopwatch.Frequency / HandlerRuns;

    public double Seconds => Math.Max(Elapsed.TotalSeconds, 1e-9);

    public double PerSecond(long count) => count / Seconds;

    public double PercentileMs(double percentile) =>
        Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(percentile) / 1000.0;

    public double MaxMs => Latency.TotalCount == 0 ? 0 : Latency.GetMaxValue() / 1000.0;

    public double AllocatedPerCommand => Commands == 0 ? 0 : (double)AllocatedBytes / Commands;
}

/// <summary>Runtime activity that explains a window's figures: garbage collections, JIT work, lock contention.</summary>
internal readonly record struct RuntimeCounters(int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long JitMethods, TimeSpan JitTime, long LockContentions)
{
    public static RuntimeCounters Now() => new(
        GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(),
        System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(), Monitor.LockContentionCount);

    public static RuntimeCounters operator -(RuntimeCounters a, RuntimeCounters b) => new(
        a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.GcPause - b.GcPause, a.JitMethods - b.JitMethods, a.JitTime - b.JitTime,
        a.LockContentions - b.LockContentions);

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"GC {Gen0}/{Gen1}/{Gen2} (pause {GcPause.TotalMilliseconds:0} ms), JIT {JitMethods} methods ({JitTime.TotalMilliseconds:0} ms), {LockContentions} lock contentions");
}

/// <summary>
/// Closed-loop load: <see cref="LoadSpec.Callers"/> tasks each send a command, wait for its reply, record the
/// latency in an HdrHistogram and send the next, until the window closes. Allocations are the process-wide
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> delta over the window; the working set is sampled every 100 ms.
/// </summary>
internal static class LoadDriver
{
    private static readonly long HighestMicros = (long)TimeSpan.FromMinutes(10).TotalMicroseconds;

    public static HistogramBase NewHistogram() => new LongConcurrentHistogram(1, HighestMicros, 3);

    public static void Record(HistogramBase histogram, long startTimestamp) => Record(histogram, Stopwatch.GetElapsedTime(startTimestamp));

    public static void Record(HistogramBase histogram, TimeSpan elapsed) =>
        histogram.RecordValue(Math.Clamp((long)elapsed.TotalMicroseconds, 1, HighestMicros));

    public static async Task<LoadResult> RunAsync(
        LoadSpec spec, SendCommand send, BenchProgressScope progress, LoadGauges? gauges = null, CancellationToken cancellationToken = default)
    {
        var sequences = new long[spec.Callers];
        if (spec.PrimePerCaller > 0)
        {
            progress.Phase("priming aggregates");
            var (_, primeErrors, primeError) = await DriveAsync(spec.Callers, sequences, send, null, null, null, null, progress, null, cancellationToken,
                spec.PrimePerCaller).ConfigureAwait(false);
            if (primeErrors > 0)
            {
                throw new InvalidOperationException($"Priming the aggregates failed {primeErrors} times; first error: {primeError}");
            }
        }

        if (spec.Warmup > TimeSpan.Zero)
        {
            progress.Phase("warm-up");
            await DriveAsync(spec.Callers, sequences, send, null, null, spec.Warmup, null, progress, null, cancellationToken, rate: spec.CommandsPerSecond)
                .ConfigureAwait(false);
        }

        progress.Phase("measuring");
        var histogram = NewHistogram();
        var gauge = new GaugeSampler(gauges);
        var countersBefore = gauges?.HandlerCounters?.Invoke() ?? default;
        gauges?.WindowOpened?.Invoke();
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var runtimeBefore = RuntimeCounters.Now();
        var sampler = AllocationSampler.Current;
        sampler?.Start();
        var allocatedBefore = GC.GetTotalAllocatedBytes(true);
        var stopwatch = Stopwatch.StartNew();
        var (commands, errors, firstError) = await DriveAsync(
            spec.Callers, sequences, send, histogram, gauge, spec.Commands is null ? spec.Duration : null, spec.Commands, progress, stopwatch,
            cancellationToken, rate: spec.CommandsPerSecond).ConfigureAwait(false);
        var elapsed = stopwatch.Elapsed;
        gauges?.WindowClosed?.Invoke();
        var allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
        var countersAfter = gauges?.HandlerCounters?.Invoke() ?? default;
        return new LoadResult(commands, errors, firstError, elapsed, histogram, allocated, gauge.PeakWorkingSet, gauge.MeanGauge,
            countersAfter.Runs - countersBefore.Runs, countersAfter.BusyTicks - countersBefore.BusyTicks, Environment.CpuUsage.TotalTime - cpuBefore,
            RuntimeCounters.Now() - runtimeBefore, sampler is null ? null : AllocationSampler.Describe(sampler.Stop(12)));
    }

    private static async Task<(long Commands, long Errors, string? FirstError)> DriveAsync(
        int callers, long[] sequences, SendCommand send, HistogramBase? histogram, GaugeSampler? gauge, TimeSpan? duration, long? commands,
        BenchProgressScope progress, Stopwatch? measured, CancellationToken cancellationToken, int perCaller = 0, double? rate = null)
    {
        var clock = measured ?? Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long issued = 0;
        long completed = 0;
        long errors = 0;
        string? firstError = null;

        async Task CallerAsync(int caller)
        {
            await Task.Yield();
            var sent = 0;
            var turn = 0L;
            while (!stop.IsCancellationRequested)
            {
                if (perCaller > 0 && sent++ >= perCaller)
                {
                    return;
                }

                if (rate is { } perSecond)
                {
                    // A turn after the window is not waited for: the window closes on time.
                    var due = TimeSpan.FromSeconds((turn++ * callers + caller) / perSecond);
                    if ((duration is { } end && due >= end) || !await WaitForTurnAsync(clock, due, stop.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                if (commands is { } limit && Interlocked.Increment(ref issued) > limit)
                {
                    return;
                }

                if (duration is { } window && clock.Elapsed >= window)
                {
                    return;
                }

                var started = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    error = await send(caller, sequences[caller]++, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    error = $"{e.GetType().Name}: {e.Message}";
                }

                if (error is null)
                {
                    if (histogram is not null)
                    {
                        Record(histogram, started);
                    }

                    Interlocked.Increment(ref completed);
                }
                else
                {
                    Interlocked.CompareExchange(ref firstError, error, null);
                    Interlocked.Increment(ref errors);
                }
            }
        }

        var tasks = Enumerable.Range(0, callers).Select(caller => Task.Run(() => CallerAsync(caller), CancellationToken.None)).ToArray();
        var all = Task.WhenAll(tasks);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(20, CancellationToken.None)).ConfigureAwait(false);
            gauge?.Sample();
            var done = Interlocked.Read(ref completed);
            var fraction = perCaller > 0
                ? (double)(done + Interlocked.Read(ref errors)) / ((long)perCaller * callers)
                : commands is { } total
                    ? (double)done / total
                    : clock.Elapsed.TotalSeconds / Math.Max(duration!.Value.TotalSeconds, 1e-9);
            progress.Report(Math.Min(1, fraction), done, Interlocked.Read(ref errors), clock.Elapsed);

            // A target that fails every command would otherwise spin through the whole window.
            if (Interlocked.Read(ref errors) > 1000 && Interlocked.Read(ref errors) > 10 * done)
            {
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }

        await all.ConfigureAwait(false);
        return (Interlocked.Read(ref completed), Interlocked.Read(ref errors), firstError);
    }

    /// <summary>Waits until <paramref name="due"/> on <paramref name="clock"/>; false when stopped meanwhile.</summary>
    private static async Task<bool> WaitForTurnAsync(Stopwatch clock, TimeSpan due, CancellationToken cancellationToken)
    {
        var wait = due - clock.Elapsed;
        if (wait <= TimeSpan.Zero)
        {
            return true;
        }

        try
        {
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Samples the working set and the optional gauge.</summary>
    private sealed class GaugeSampler(LoadGauges? gauges)
    {
        private long _gaugeSum;
        private long _gaugeSamples;
        private int _ticks;

        public long PeakWorkingSet { get; private set; } = Environment.WorkingSet;

        public double? MeanGauge => gauges?.RunningHandlers is null || _gaugeSamples == 0 ? null : (double)_gaugeSum / _gaugeSamples;

        public void Sample()
        {
            if (_ticks++ % 5 == 0)
            {
                PeakWorkingSet = Math.Max(PeakWorkingSet, Environment.WorkingSet);
            }

            if (gauges?.RunningHandlers is { } running)
            {
                _gaugeSum += running();
                _gaugeSamples++;
            }
        }
    }
}
