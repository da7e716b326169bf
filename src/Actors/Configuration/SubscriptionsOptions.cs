using System.ComponentModel.DataAnnotations;

namespace ActorEvents.Actors.Configuration;

/// <summary>
/// How durable subscriptions and projections run (section <c>ActorEvents:Subscriptions</c>). Each one is a cluster
/// singleton that reads the SQL journal from its checkpoint; what it reads and its profile are registered in code,
/// and <see cref="Tuning"/> can change the profile's figures per subscription without a rebuild.
/// </summary>
public sealed class SubscriptionsOptions
{
    /// <summary>Run the registered subscriptions on this cluster (they never run on the in-memory provider, which has no read journal).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Only nodes with this cluster role host subscriptions (null: any node; the oldest one hosts them all).</summary>
    public string? Role { get; set; }

    /// <summary>How long the office waits for a subscription to answer a status request.</summary>
    public TimeSpan StatusTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the office waits for pause, resume, reset and rebuild to be carried out.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a subscription that hands over to another node (its node leaves) waits for the batch in flight before
    /// it stops; the next node starts once it has stopped, from the checkpoint.
    /// </summary>
    public TimeSpan HandOverTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After the last batch, write a checkpoint that is behind (fewer than CheckpointEvery events since the last write)
    /// once no new batch came for this long, so an idle subscription's checkpoint is current.
    /// </summary>
    public TimeSpan IdleCheckpointDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a subscription waits for a missing journal ordering (a write that took its number but has not committed:
    /// another writer, another node) before it declares it a permanent gap and passes over it (counted as
    /// <c>skippedGaps</c> in the status and logged). Keep it longer than any write can stay in flight: the group-commit
    /// writer bounds that by <c>Persistence:WriteTimeout</c> + 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan GapTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the node looks at the journal's head for its subscriptions (one query per node, however many
    /// subscriptions it runs; writes of this node are seen at once without it); also how often, at most, a caught-up
    /// subscription reads while events keep coming, and how long it waits before it looks again at a gap (a write in flight).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan SourcePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long a row of <c>ae_processed_events</c> (a guarded durable handler finished an event) is kept at least. A row
    /// is pruned only once it is older than this and its event is behind the checkpoint of its handler's subscription
    /// (and has no open dead letter): a redelivery after a crash finds it. Afterwards only a reset without
    /// <c>--rerun</c> to an earlier position would have needed it, and then runs the event again. 0 prunes as soon as the
    /// checkpoint has passed.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan ProcessedEventRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the cluster's pruner (a singleton, on the nodes that host subscriptions) deletes the rows of <c>ae_processed_events</c> it may.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ProcessedEventPruneInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The node's subscriptions wait on one shared watch of the journal's head and read the journal only when it moved
    /// past their position (the default). False: each subscription that has caught up reads the journal itself every
    /// <see cref="SourcePollInterval"/>, as before the shared watch (kept for comparison: see bench/README.md).
    /// </summary>
    public bool SharedJournalHead { get; set; } = true;

    /// <summary>
    /// How often each running subscription reads its status (the COUNT queries of <c>subscriptions status</c>) and publishes
    /// it to the <c>actorevents.subscription.*</c> gauges and the readiness check. 0 switches that off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a subscription may stay stalled (events parked behind dead letters, a failing projector or read journal)
    /// before its node reports not ready (<c>/ready</c>). Seen at the <see cref="MetricsInterval"/>'s pace.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan StalledThreshold { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Per-subscription overrides by name, e.g. <c>ActorEvents:Subscriptions:Tuning:order-totals:BatchSize=500</c>.</summary>
    public Dictionary<string, SubscriptionTuningOptions> Tuning { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Overrides of one subscription's profile; unset values keep what the code registered.</summary>
public sealed class SubscriptionTuningOptions
{
    /// <summary>Another profile to start from: production, fast, batch, debug or projection.</summary>
    public string? Profile { get; set; }

    /// <summary>Most events per batch.</summary>
    [Range(1, 100_000)]
    public int? BatchSize { get; set; }

    /// <summary>Events between checkpoint writes.</summary>
    [Range(1, 1_000_000)]
    public int? CheckpointEvery { get; set; }

    /// <summary>Pause after a batch that did not fill up.</summary>
    public TimeSpan? PollInterval { get; set; }

    /// <summary>Most handler invocations of the subscription running at once.</summary>
    [Range(1, 1024)]
    public int? MaxConcurrentHandlers { get; set; }
}
