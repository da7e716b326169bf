using ActorEvents.Actors.Configuration;
using ActorEvents.Messages;

namespace ActorEvents.Bench;

/// <summary>The scenarios the harness runs.</summary>
public enum BenchScenario
{
    /// <summary>Callers → client → mediator → sharded aggregates → journal → router → pool → handlers.</summary>
    Pipeline,

    /// <summary>Bare Akka.NET persistent actors behind the same sharding and journal, doing the same PersistAll.</summary>
    Baseline,

    /// <summary>Raw batched INSERTs of journal-shaped rows, 100 per transaction: the database's physical limit.</summary>
    Ceiling,

    /// <summary>Pipeline, baseline and ceiling interleaved over several rounds, with ratios.</summary>
    Compare,

    /// <summary>Recovery time of an aggregate with 1k/10k/100k events, with and without a snapshot.</summary>
    Recovery,

    /// <summary>Throughput and memory as aggregates grow, and as the handler pool grows.</summary>
    Scale,

    /// <summary>The mediator matrix: handlers per event, parallel on/off, handler work, one or 64 callers.</summary>
    Mediator,

    /// <summary>What 1 and N projections cost the node, idle and under a steady load, with per-subscription polling and with the shared journal head.</summary>
    Subscriptions,

    /// <summary>
    /// Notifications end to end through RabbitMQ (command → journal → publisher subscription with confirms → queue →
    /// de-duplicating subscriber), against a raw RabbitMQ.Client publisher and consumer: the broker's own ceiling.
    /// </summary>
    Broker,
}

/// <summary>Which database holds the journal.</summary>
public enum BenchDatabase
{
    /// <summary>Akka's in-memory journal and snapshot store.</summary>
    InMem,

    /// <summary>A fresh SQLite file in the temp folder (write-ahead logging, as the runtime sets it up).</summary>
    Sqlite,

    /// <summary>PostgreSQL from <c>ACTOREVENTS_TEST_POSTGRES</c> or <c>ActorEvents__Persistence__ConnectionString</c>, in a fresh schema per run.</summary>
    Postgres,
}

/// <summary>What each bench handler does per event.</summary>
public enum HandlerWork
{
    /// <summary>Returns a completed task.</summary>
    None,

    /// <summary><c>await Task.Delay(1 ms)</c>: I/O-like wait that holds a pool slot but no CPU.</summary>
    Delay,

    /// <summary>About 1 ms of CPU spinning.</summary>
    Spin,

    /// <summary>
    /// A 1 ms wait on the bench's own timer thread (<see cref="Thread.Sleep(int)"/>-driven, ≈1.1 ms): like <see cref="Delay"/> it
    /// holds a pool slot without CPU, but without <c>Task.Delay</c>'s rounding up to the clock tick (4 ms on a 250 Hz kernel).
    /// </summary>
    Precise,
}

/// <summary>Everything a bench run needs. Null members take the scenario's default.</summary>
public sealed record BenchOptions
{
    /// <summary>The scenario to run.</summary>
    public BenchScenario Scenario { get; init; } = BenchScenario.Pipeline;

    /// <summary>Measured time of one run (ignored when <see cref="Commands"/> is set).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Unmeasured warm-up before each run.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Database; null: SQLite, except <c>mediator</c> and the handler sweep of <c>scale</c>, which use the in-memory journal.</summary>
    public BenchDatabase? Database { get; init; }

    /// <summary>Number of distinct aggregates the callers write to.</summary>
    public int Aggregates { get; init; } = 100;

    /// <summary>Before the warm-up, send one command to every aggregate in use, so the window measures live aggregates, not their first recovery.</summary>
    public bool Prime { get; init; } = true;

    /// <summary>Run this many commands instead of running for <see cref="Duration"/>.</summary>
    public long? Commands { get; init; }

    /// <summary>Events each command persists.</summary>
    public int EventsPerCommand { get; init; } = 4;

    /// <summary>Handler classes subscribed to each event (1–<see cref="Domain.BenchDomain.MaxHandlers"/>).</summary>
    public int HandlersPerEvent { get; init; } = 1;

    /// <summary>Pipeline:MaxConcurrentEventHandlers; null keeps the runtime default.</summary>
    public int? MaxConcurrentHandlers { get; init; }

    /// <summary>Pipeline:Ordering.</summary>
    public EventOrdering Ordering { get; init; } = EventOrdering.PerAggregate;

    /// <summary>Pipeline:ConcurrentEventHandleEnable.</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>Pipeline:ReplyMode.</summary>
    public ReplyMode ReplyMode { get; init; } = ReplyMode.AfterHandlers;

    /// <summary>Concurrent callers (each waits for its reply before it sends the next command).</summary>
    public int Callers { get; init; } = 32;

    /// <summary>Handler work; null: none, except the 1 ms runs of <c>scale</c> and <c>mediator</c>, which use <see cref="Bench.HandlerWork.Delay"/>.</summary>
    public HandlerWork? HandlerWork { get; init; }

    /// <summary>Rounds of <c>compare</c>, and repetitions of each <c>recovery</c> measurement.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Size of the string payload of each bench event, in characters.</summary>
    public int PayloadBytes { get; init; } = 100;

    /// <summary>Aggregates:SnapshotEvery for the throughput scenarios (0 = none, as the baseline does none).</summary>
    public int SnapshotEvery { get; init; }

    /// <summary>Largest aggregate size <c>recovery</c> measures (1k, 10k and 100k are capped to it).</summary>
    public int RecoveryMaxEvents { get; init; } = 100_000;

    /// <summary>Aggregates:SnapshotEvery of the snapshot variant of <c>recovery</c>.</summary>
    public int RecoverySnapshotEvery { get; init; } = 100;

    /// <summary>Largest aggregate count of <c>scale</c> (1k, 10k, 100k capped to it).</summary>
    public int ScaleMaxAggregates { get; init; } = 100_000;

    /// <summary>Largest MaxConcurrentEventHandlers of <c>scale</c> (1, 2, 4 … 64 capped to it).</summary>
    public int ScaleMaxHandlers { get; init; } = 64;

    /// <summary>Aggregates:PassivateAfter of <c>scale</c>'s aggregate sweep.</summary>
    public TimeSpan ScalePassivateAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Aggregates:NumberOfShards (the same for the pipeline and the baseline).</summary>
    public int Shards { get; init; } = 100;

    /// <summary>Apply the node's <c>hocon/*.conf</c> tuning (except logging) to the pipeline and baseline hosts, as the host does.</summary>
    public bool HoconTuning { get; init; } = true;

    /// <summary>The SQL journal's write path of the pipeline and baseline hosts (<c>Persistence:JournalWriter</c>).</summary>
    public JournalWriter JournalWriter { get; init; } = JournalWriter.GroupCommit;

    /// <summary>
    /// In <c>compare</c> on a database, also run the baseline on Akka.Persistence.Sql's own writer each round and report
    /// <c>group-commit/plugin</c>: the before/after of the write path, in the same run.
    /// </summary>
    public bool WriterAb { get; init; } = true;

    /// <summary>Projections of <c>subscriptions</c>, compared with one.</summary>
    public int Subscriptions { get; init; } = 30;

    /// <summary>Commands per second of <c>subscriptions</c>' steady load.</summary>
    public double Rate { get; init; } = 50;

    /// <summary><c>broker</c>: the AMQP URI; null: <c>ACTOREVENTS_TEST_RABBITMQ</c>, else <c>amqp://guest:guest@127.0.0.1:5672/</c>.</summary>
    public string? BrokerUri { get; init; }

    /// <summary><c>broker</c>: the subscriber's prefetch (<c>SubscriberOptions.Prefetch</c>), and the raw consumer's.</summary>
    public int Prefetch { get; init; } = new ActorEvents.Broker.Subscribing.SubscriberOptions().Prefetch;

    /// <summary><c>broker</c>: the publisher subscription's batch size (and the raw publisher's batch); null: the runtime's (500).</summary>
    public int? PublisherBatch { get; init; }

    /// <summary><c>broker</c>: the publisher subscription's poll interval; null: the runtime's (0).</summary>
    public TimeSpan? PublisherPollInterval { get; init; }

    /// <summary><c>Subscriptions:SourcePollInterval</c> of the hosts (the journal head watch, a caught-up subscription's read pace, a gap's re-read); null: the runtime's (100 ms).</summary>
    public TimeSpan? SourcePollInterval { get; init; }

    /// <summary><c>broker</c>: whether the subscriber de-duplicates by message id (<c>SubscriberOptions.Deduplicate</c>).</summary>
    public bool Deduplicate { get; init; } = true;

    /// <summary>Sample allocations by type during each measured window (adds some overhead; for diagnosis, not for the figures).</summary>
    public bool AllocationProfile { get; init; }

    /// <summary>The command line that started the run (recorded in the report).</summary>
    public string? CommandLine { get; init; }

    /// <summary>The database a scenario uses when none was given.</summary>
    public BenchDatabase DatabaseFor(BenchScenario scenario) =>
        Database ?? (scenario is BenchScenario.Mediator ? BenchDatabase.InMem : BenchDatabase.Sqlite);

    /// <summary>Checks ranges; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public void Validate()
    {
        static void Require(bool condition, string message)
        {
            if (!condition)
            {
                throw new ArgumentException(message);
            }
        }

        Require(Duration > TimeSpan.Zero || Commands is > 0, "--duration must be positive (or give --commands).");
        Require(Warmup >= TimeSpan.Zero, "--warmup must not be negative.");
        Require(Aggregates >= 1, "--aggregates must be at least 1.");
        Require(Commands is null or > 0, "--commands must be positive.");
        Require(EventsPerCommand is >= 1 and <= 1000, "--events-per-command must be 1–1000.");
        Require(HandlersPerEvent is >= 0 and <= Domain.BenchDomain.MaxHandlers, $"--handlers-per-event must be 0–{Domain.BenchDomain.MaxHandlers}.");
        Require(MaxConcurrentHandlers is null or (>= 1 and <= 1024), "--max-concurrent-handlers must be 1–1024.");
        Require(Callers is >= 1 and <= 10_000, "--callers must be 1–10000.");
        Require(Rounds is >= 1 and <= 100, "--rounds must be 1–100.");
        Require(PayloadBytes is >= 0 and <= 1_000_000, "--payload-bytes must be 0–1000000.");
        Require(SnapshotEvery >= 0, "--snapshot-every must not be negative.");
        Require(RecoveryMaxEvents >= 1, "--recovery-max-events must be at least 1.");
        Require(RecoverySnapshotEvery >= 1, "--recovery-snapshot-every must be at least 1.");
        Require(ScaleMaxAggregates >= 1, "--scale-max-aggregates must be at least 1.");
        Require(ScaleMaxHandlers is >= 1 and <= 1024, "--scale-max-handlers must be 1–1024.");
        Require(Shards is >= 1 and <= 10_000, "--shards must be 1–10000.");
        Require(Subscriptions is >= 2 and <= 1000, "--subscriptions must be 2–1000.");
        Require(Prefetch is >= 1 and <= 1000, "--prefetch must be 1–1000.");
        Require(PublisherBatch is null or (>= 1 and <= 100_000), "--publisher-batch must be 1–100000.");
        Require(PublisherPollInterval is null || (PublisherPollInterval >= TimeSpan.Zero && PublisherPollInterval <= TimeSpan.FromMinutes(10)),
            "--publisher-poll-ms must be 0–600000.");
        Require(SourcePollInterval is null || (SourcePollInterval >= TimeSpan.FromMilliseconds(1) && SourcePollInterval <= TimeSpan.FromMinutes(1)),
            "--source-poll-ms must be 1–60000.");
        Require(BrokerUri is null || Uri.TryCreate(BrokerUri, UriKind.Absolute, out _), "--broker-uri must be an absolute AMQP URI.");
        Require(double.IsFinite(Rate) && Rate is > 0 and <= 100_000, "--rate must be above 0 and at most 100000 commands/s.");
    }
}
