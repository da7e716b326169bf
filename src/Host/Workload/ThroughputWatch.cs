using System.Diagnostics.Metrics;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Telemetry;

namespace ActorEvents.Host.Workload;

/// <summary>The time one handler took over a run: its invocations (in-request and durable) and their total.</summary>
/// <param name="Handler">The handler.</param>
/// <param name="Runs">Invocations.</param>
/// <param name="Seconds">Their total time.</param>
public sealed record HandlerTime(string Handler, long Runs, double Seconds)
{
    /// <summary>Mean time of one invocation, in milliseconds.</summary>
    public double MeanMs => Runs == 0 ? 0 : Seconds * 1000 / Runs;
}

/// <summary>What bounded a run's throughput: the request pool's slots and how busy they were, and where the handler time went.</summary>
/// <param name="Slots">The request pool's slots (<c>Pipeline:MaxConcurrentEventHandlers</c>, 1 in sequential mode).</param>
/// <param name="MeanRunning">Handlers running in the request pool, on average over the run (sampled every 10 ms).</param>
/// <param name="Handlers">Handler time by handler, the longest first.</param>
public sealed record ThroughputLimit(int Slots, double MeanRunning, IReadOnlyList<HandlerTime> Handlers)
{
    /// <summary>Share of the run the slots were busy (0–1).</summary>
    public double Utilization => Slots == 0 ? 0 : Math.Min(1, MeanRunning / Slots);

    /// <summary>True when the slots were busy most of the run: they bound the throughput.</summary>
    public bool PoolBound => Utilization >= 0.8;
}

/// <summary>
/// Watches a run: samples how many handlers the request pool runs (its own load figures) and sums every handler
/// invocation's time from the runtime's <c>actorevents.handler.duration</c> instrument.
/// </summary>
public sealed class ThroughputWatch : IDisposable
{
    private readonly HandlerPoolLoad _pool;
    private readonly int _slots;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, (long Runs, double Seconds)> _handlers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Timer _sampler;
    private long _samples;
    private long _running;

    /// <summary>Starts watching.</summary>
    /// <param name="pool">The request pool's load figures.</param>
    /// <param name="slots">Its slots.</param>
    public ThroughputWatch(HandlerPoolLoad pool, int slots)
    {
        _pool = pool;
        _slots = slots;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ActorEventsTelemetry.Name && instrument.Name == ActorEventsTelemetry.HandlerDuration)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(Measured);
        _listener.Start();
        _sampler = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(10));
    }

    /// <summary>What was seen so far.</summary>
    public ThroughputLimit Result()
    {
        lock (_gate)
        {
            var samples = Interlocked.Read(ref _samples);
            return new ThroughputLimit(_slots, samples == 0 ? 0 : (double)Interlocked.Read(ref _running) / samples,
                [.. _handlers.Select(h => new HandlerTime(h.Key, h.Value.Runs, h.Value.Seconds)).OrderByDescending(h => h.Seconds)]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _sampler.Dispose();
        _listener.Dispose();
    }

    private void Sample()
    {
        Interlocked.Add(ref _running, _pool.Running);
        Interlocked.Increment(ref _samples);
    }

    private void Measured(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? handler = null;
        foreach (var tag in tags)
        {
            if (tag.Key == ActorEventsTelemetry.Tags.Handler)
            {
                handler = tag.Value as string;
            }
        }

        if (handler is null)
        {
            return;
        }

        lock (_gate)
        {
            var (runs, total) = _handlers.GetValueOrDefault(handler);
            _handlers[handler] = (runs + 1, total + seconds);
        }
    }
}
