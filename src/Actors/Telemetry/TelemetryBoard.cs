using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Telemetry;

/// <summary>
/// Where actors publish what the observable gauges report, so that a collection never reads an actor's own fields: a
/// handler pool registers its load figures (<see cref="IPoolFigures"/>: single writer, volatile reads), a subscription
/// replaces its last <see cref="SubscriptionStatus"/> (an immutable record) every time it read one. Each actor removes
/// its entry when it stops.
/// </summary>
internal static class TelemetryBoard
{
    private static readonly ConcurrentDictionary<string, PoolEntry> PoolEntries = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, SubscriptionEntry> SubscriptionEntries = new(StringComparer.Ordinal);

    /// <summary>Publishes a pool's load under its actor path.</summary>
    public static void PublishPool(string path, string pool, string node, IPoolFigures load) => PoolEntries[path] = new PoolEntry(pool, node, load);

    /// <summary>Removes a stopped pool.</summary>
    public static void RemovePool(string path) => PoolEntries.TryRemove(path, out _);

    /// <summary>Publishes a subscription's latest status under its actor path.</summary>
    public static void PublishSubscription(string path, string node, SubscriptionStatus status, DateTimeOffset? stalledSince) =>
        SubscriptionEntries[path] = new SubscriptionEntry(node, status, stalledSince);

    /// <summary>The subscriptions running on <paramref name="node"/> that have been stalled since before <paramref name="before"/>.</summary>
    public static IReadOnlyList<SubscriptionStatus> StalledSince(string node, DateTimeOffset before) =>
        SubscriptionEntries.Values.Where(e => e.Node == node && e.StalledSince is { } since && since <= before).Select(e => e.Status).ToArray();

    /// <summary>Removes a stopped subscription.</summary>
    public static void RemoveSubscription(string path) => SubscriptionEntries.TryRemove(path, out _);

    public static IEnumerable<Measurement<int>> Pools(Func<IPoolFigures, int> figure) =>
        PoolEntries.Values.Select(e => new Measurement<int>(figure(e.Load),
            new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Pool, e.Pool), new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Node, e.Node)));

    public static IEnumerable<Measurement<long>> Subscriptions(Func<SubscriptionStatus, long> figure) =>
        SubscriptionEntries.Values.Select(e => new Measurement<long>(figure(e.Status), Tags(e)));

    public static IEnumerable<Measurement<double>> Subscriptions(Func<SubscriptionStatus, double> figure) =>
        SubscriptionEntries.Values.Select(e => new Measurement<double>(figure(e.Status), Tags(e)));

    private static KeyValuePair<string, object?>[] Tags(SubscriptionEntry e) =>
        [new(ActorEventsTelemetry.Tags.Subscription, e.Status.Name), new(ActorEventsTelemetry.Tags.Node, e.Node)];

    private sealed record PoolEntry(string Pool, string Node, IPoolFigures Load);

    private sealed record SubscriptionEntry(string Node, SubscriptionStatus Status, DateTimeOffset? StalledSince);
}

/// <summary>The load figures of a handler pool that its gauges report (each written by the pool actor alone, read with volatile reads).</summary>
internal interface IPoolFigures
{
    /// <summary>Items waiting for a worker.</summary>
    int Queued { get; }

    /// <summary>Items running now.</summary>
    int Running { get; }

    /// <summary>Items waiting for a retry.</summary>
    int Retrying { get; }

    /// <summary>Events parked behind a dead letter.</summary>
    int Parked { get; }
}
