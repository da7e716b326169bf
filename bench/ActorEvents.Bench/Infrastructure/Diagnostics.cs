using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>
/// Samples what the process allocates, by type, from the runtime's GC allocation-tick events (one event per
/// ~100 KB allocated, naming the type that crossed the threshold). Enabled only for <c>--alloc-profile</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    /// <summary>The sampler of the current run, when <c>--alloc-profile</c> asked for one.</summary>
    public static AllocationSampler? Current { get; set; }

    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _recording;

    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    public IReadOnlyList<(string Type, double Share)> Stop(int top)
    {
        _recording = false;
        var total = Math.Max(1, _bytesByType.Values.Sum());
        return _bytesByType.OrderByDescending(pair => pair.Value).Take(top)
            .Select(pair => (pair.Key, (double)pair.Value / total)).ToArray();
    }

    public static string Describe(IReadOnlyList<(string Type, double Share)> top) =>
        string.Join(", ", top.Select(t => string.Create(CultureInfo.InvariantCulture, $"{Shorten(t.Type)} {t.Share:P0}")));

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)
            || eventData.PayloadNames is null || eventData.Payload is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (amountIndex < 0)
        {
            amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount");
        }

        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }

        var type = eventData.Payload[typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }

    private static string Shorten(string type)
    {
        // "System.Collections.Generic.List`1[[ActorEvents.Messages.EventEnvelope, ...]]" → readable enough without assembly names.
        var withoutAssemblies = System.Text.RegularExpressions.Regex.Replace(type, @", [^\[\]]+?, Version=[^\]]+", string.Empty);
        return withoutAssemblies.Length > 90 ? withoutAssemblies[..90] + "…" : withoutAssemblies;
    }
}

/// <summary>How long <c>Task.Delay(1)</c> really takes on this machine right now: the yardstick of the 1 ms handlers.</summary>
internal static class TimerCalibration
{
    public static Task<double> MeanDelayMsAsync(int samples = 100, int concurrent = 3) => MeanMsAsync(() => Task.Delay(1), samples, concurrent);

    public static Task<double> MeanPreciseMsAsync(int samples = 100, int concurrent = 3) =>
        MeanMsAsync(Domain.PreciseDelay.OneMillisecond, samples, concurrent);

    /// <summary>One line for the summaries of the scenarios with 1 ms handlers.</summary>
    public static async Task<string> DescribeAsync()
    {
        var delay = await MeanDelayMsAsync().ConfigureAwait(false);
        var precise = await MeanPreciseMsAsync().ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture,
            $"timer check (3 concurrent waiters × 100): Task.Delay(1) takes {delay:0.00} ms here, the 'precise' 1 ms wait {precise:0.00} ms; a handler cannot be faster than its wait");
    }

    private static async Task<double> MeanMsAsync(Func<Task> wait, int samples, int concurrent)
    {
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrent).Select(async _ =>
        {
            for (var i = 0; i < samples; i++)
            {
                await wait().ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        return stopwatch.Elapsed.TotalMilliseconds / samples;
    }
}
