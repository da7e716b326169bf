using System.Collections.Concurrent;
using ActorEvents.Actors.Projections;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Messages;
using HdrHistogram;
using LinqToDB.Data;

namespace ActorEvents.Bench.Domain;

/// <summary>What the bench projections were given: events per projection, and how long each took from its decision to its projection.</summary>
public sealed class BenchReadSide
{
    private readonly ConcurrentDictionary<string, Counter> _projected = new(StringComparer.Ordinal);
    private HistogramBase _delivery = LoadDriver.NewHistogram();
    private volatile bool _recording;

    /// <summary>Tag of the bench aggregate's events, which the bench projections read.</summary>
    public static string Tag => ActorEvents.Actors.Aggregates.AggregateTags.AggregatePrefix + BenchAggregate.AggregateName;

    /// <summary>Name of the bench projection number <paramref name="index"/>.</summary>
    public static string ProjectionName(int index) => $"bench-projection-{index}";

    /// <summary>Events projected so far by the projection that has the fewest (0 before any projection ran).</summary>
    public long LeastProjected(int projections) => _projected.Count < projections ? 0 : _projected.Values.Min(box => Interlocked.Read(ref box.Value));

    /// <summary>Events projected so far by all projections together.</summary>
    public long TotalProjected => _projected.Values.Sum(box => Interlocked.Read(ref box.Value));

    /// <summary>Starts a fresh delivery histogram (the measured window opens).</summary>
    public void StartRecording()
    {
        Volatile.Write(ref _delivery, LoadDriver.NewHistogram());
        _recording = true;
    }

    /// <summary>Stops recording and returns the delivery latencies of the window, in microseconds.</summary>
    public HistogramBase StopRecording()
    {
        _recording = false;
        return _delivery;
    }

    internal void Projected(string projection, DateTimeOffset occurredAt)
    {
        var box = _projected.GetOrAdd(projection, _ => new Counter());
        Interlocked.Increment(ref box.Value);
        if (_recording)
        {
            LoadDriver.Record(Volatile.Read(ref _delivery), DateTimeOffset.UtcNow - occurredAt);
        }
    }

    private sealed class Counter
    {
        public long Value;
    }
}

/// <summary>A projection that writes no table of its own: its batches cost what every projection costs (the read, the checkpoint's transaction).</summary>
/// <param name="readSide">Counts and delivery latencies.</param>
public sealed class BenchProjector(BenchReadSide readSide) : IProjector
{
    /// <inheritdoc />
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task ProjectAsync(EventEnvelope envelope, ProjectionContext context)
    {
        readSide.Projected(context.Projection, envelope.OccurredAt);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ClearAsync(DataConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
}
