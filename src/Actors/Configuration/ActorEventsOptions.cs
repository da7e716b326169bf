using System.ComponentModel.DataAnnotations;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Configuration;

/// <summary>
/// All settings of an ActorEvents node, bound from the <c>ActorEvents</c> configuration section
/// (appsettings.json, environment variables <c>ActorEvents__Section__Key</c>, command line).
/// </summary>
public sealed class ActorEventsOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "ActorEvents";

    /// <summary>Cluster node settings.</summary>
    public NodeOptions Node { get; set; } = new();

    /// <summary>Journal, snapshot store and read journal settings.</summary>
    public PersistenceOptions Persistence { get; set; } = new();

    /// <summary>Aggregate entity settings.</summary>
    public AggregateOptions Aggregates { get; set; } = new();

    /// <summary>Command mediator settings.</summary>
    public MediatorOptions Mediator { get; set; } = new();

    /// <summary>Event pipeline (handler pools) settings.</summary>
    public PipelineOptions Pipeline { get; set; } = new();

    /// <summary>Durable subscriptions and projections.</summary>
    public SubscriptionsOptions Subscriptions { get; set; } = new();
}

/// <summary>Where this node listens and how it finds the cluster.</summary>
public sealed class NodeOptions
{
    /// <summary>Name of the actor system; every node of one cluster uses the same.</summary>
    [Required]
    public string ActorSystemName { get; set; } = "actor-events";

    /// <summary>Interface remoting binds to. Loopback by default: expose it deliberately.</summary>
    [Required]
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Host name other nodes use to reach this one (defaults to <see cref="Hostname"/>).</summary>
    public string? PublicHostname { get; set; }

    /// <summary>Remoting port; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 4053;

    /// <summary>Seed node addresses (<c>akka.tcp://actor-events@host:port</c>). Empty: this node forms a cluster by itself.</summary>
    public string[] SeedNodes { get; set; } = [];

    /// <summary>Cluster roles of this node.</summary>
    public string[] Roles { get; set; } = [];

    /// <summary>TLS for remoting (off by default).</summary>
    public RemotingTlsOptions Tls { get; set; } = new();

    /// <summary>
    /// Refuse to send between nodes any message no serializer is bound to (on by default): Akka's fallback for
    /// <c>System.Object</c> is JSON with CLR type names, which ActorEvents never uses. Such a message is not sent: the
    /// sending node logs a serialization error naming its type. Switch it off only for messages of your own actors that
    /// you have not bound yet.
    /// </summary>
    public bool RefuseUnboundMessages { get; set; } = true;
}

/// <summary>TLS for the remoting transport between nodes.</summary>
public sealed class RemotingTlsOptions
{
    /// <summary>Encrypt node-to-node traffic.</summary>
    public bool Enabled { get; set; }

    /// <summary>Path of a PKCS#12 (.pfx) file with the node's certificate and private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the certificate file. Never logged.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Accept peers whose certificate does not chain to a trusted root (e.g. one self-signed certificate shared by
    /// every node). Keep it off with certificates from a real CA.
    /// </summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>
    /// SHA-1 thumbprints (hex) of the only certificates a peer may present, in both directions (mutual authentication is
    /// on). When set, the peer's certificate is checked against this list instead of a CA chain, and
    /// <see cref="AllowUntrustedCertificates"/> is ignored: a node with any other certificate, even a trusted one, is refused.
    /// </summary>
    public string[] PinnedThumbprints { get; set; } = [];
}

/// <summary>The database that holds the journal, snapshots and read journal.</summary>
public sealed class PersistenceOptions
{
    /// <summary>The embedded default database file.</summary>
    public const string DefaultSqliteConnectionString = "Data Source=data/actor-events.db";

    /// <summary><c>sqlite</c> (default), <c>postgresql</c>, or <c>inmemory</c> (tests, benchmarks).</summary>
    [Required]
    public string Provider { get; set; } = PersistenceProviders.Sqlite;

    /// <summary>ADO.NET connection string. Defaults to a SQLite file under <c>data/</c>; required for PostgreSQL. Never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Create the tables at start-up if they are missing.</summary>
    public bool AutoInitialize { get; set; } = true;

    /// <summary>
    /// How events are written to the SQL journal: <see cref="JournalWriter.GroupCommit"/> (default) or Akka.Persistence.Sql's
    /// own <see cref="JournalWriter.Plugin"/> writer. Both write the same rows; reads are the plugin's either way.
    /// </summary>
    public JournalWriter JournalWriter { get; set; } = JournalWriter.GroupCommit;

    /// <summary>
    /// Group-commit writer: a write that has not begun its transaction this long after it was queued (waiting in the queue,
    /// for SQLite's write lock, or for a PostgreSQL lock) is taken out and never written; the command is answered
    /// <c>NotPersisted</c>. Must leave room under the journal's <c>circuit-breaker.call-timeout</c> (checked at start-up).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Group-commit writer: after the connection was lost around a commit, how long the writer reads the outcome back
    /// before it answers <c>OutcomeUnknown</c>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CommitResolutionTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The write path of the SQL journal.</summary>
public enum JournalWriter
{
    /// <summary>
    /// <c>GroupCommitSqlJournal</c>: the writes of all persistent actors queued at the same time share one transaction
    /// (each <c>PersistAll</c> stays whole), through prepared statements (SQLite) or one array statement (PostgreSQL).
    /// </summary>
    GroupCommit,

    /// <summary>Akka.Persistence.Sql's <c>SqlWriteJournal</c>, unchanged (for comparison, or for providers other than SQLite and PostgreSQL).</summary>
    Plugin,
}

/// <summary>Names of the supported persistence providers.</summary>
public static class PersistenceProviders
{
    /// <summary>Embedded SQLite file (default).</summary>
    public const string Sqlite = "sqlite";

    /// <summary>PostgreSQL 15 or later.</summary>
    public const string PostgreSql = "postgresql";

    /// <summary>Akka's in-memory journal: nothing survives the process.</summary>
    public const string InMemory = "inmemory";
}

/// <summary>How aggregate entities are hosted.</summary>
public sealed class AggregateOptions
{
    /// <summary>Save a snapshot every this many events (0 disables snapshots).</summary>
    [Range(0, int.MaxValue)]
    public int SnapshotEvery { get; set; } = 100;

    /// <summary>Passivate an entity after this long without messages.</summary>
    public TimeSpan PassivateAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Number of shards per aggregate type (keep it stable across deployments).</summary>
    [Range(1, 10_000)]
    public int NumberOfShards { get; set; } = 100;

    /// <summary>First delay before a failed entity is restarted.</summary>
    public TimeSpan RestartMinBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay before a failed entity is restarted.</summary>
    public TimeSpan RestartMaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest a stopping entity (shard hand-off, passivation) waits until its node's handler pools hold none of its events
    /// (queued, running or waiting for a retry) before it stops all the same. Keep it below the sharding
    /// <c>handoff-timeout</c> minus 5 s (30 s in <c>hocon/sharding.conf</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan HandOffDrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Most recent commands each aggregate remembers (with their events) to answer a retry with the same command id as a
    /// duplicate: the memory bound of de-duplication (0 disables it). Kept in snapshots and rebuilt on recovery.
    /// </summary>
    [Range(0, 1_000_000)]
    public int DeduplicationWindow { get; set; } = 10_000;

    /// <summary>
    /// How long an aggregate remembers a command it applied: a retry within this time (and within
    /// <see cref="DeduplicationWindow"/> commands) is recognised. Zero: only the count bounds it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan DeduplicationRetention { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Limits the mediator enforces before a command reaches an aggregate.</summary>
public sealed class MediatorOptions
{
    /// <summary>How long a command may take end to end before the caller gets a Timeout rejection.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest serialized command accepted, in bytes.</summary>
    [Range(64, 64 * 1024 * 1024)]
    public int MaxCommandBytes { get; set; } = 64 * 1024;

    /// <summary>Longest aggregate id accepted, in characters.</summary>
    [Range(1, 1024)]
    public int MaxAggregateIdLength { get; set; } = 200;
}

/// <summary>
/// The event pipeline: how many handlers run at once, in which order, how far work may queue up, and when the
/// mediator replies. Defaults follow python-cqrs's RequestMediator (1 at a time, parallel enabled).
/// </summary>
public sealed class PipelineOptions
{
    /// <summary>Most (event, handler) pairs running at once in the request pool, across every command on the node.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentEventHandlers { get; set; } = 1;

    /// <summary>False runs one (event, handler) pair at a time, in emission order, follow-ups breadth-first.</summary>
    public bool ConcurrentEventHandleEnable { get; set; } = true;

    /// <summary>Keep each aggregate's events in sequence order per handler (default), or no ordering.</summary>
    public EventOrdering Ordering { get; set; } = EventOrdering.PerAggregate;

    /// <summary>Work items allowed to wait for a worker before new commands are refused as Overloaded.</summary>
    [Range(1, 10_000_000)]
    public int MaxQueuedWorkItems { get; set; } = 10_000;

    /// <summary>Deepest chain of follow-up events (a handler's event causing a handler's event …) before it is stopped.</summary>
    [Range(0, 1000)]
    public int MaxFollowUpDepth { get; set; } = 8;

    /// <summary>Default reply mode of commands (a command's metadata can override it).</summary>
    public ReplyMode ReplyMode { get; set; } = ReplyMode.AfterHandlers;

    /// <summary>The streaming pool (python-cqrs StreamingRequestMediator defaults: 10 at a time, parallel enabled).</summary>
    public StreamingPipelineOptions Streaming { get; set; } = new();

    /// <summary>Default retry policy of every handler (a handler can change it at registration).</summary>
    public RetryOptions Retry { get; set; } = new();

    /// <summary>
    /// With <see cref="EventOrdering.PerAggregate"/> ordering, how often every handler pool reads the open dead letters of
    /// its handlers from the store (it also reads them once when it starts, before it takes any work): it parks the
    /// aggregates of entries written by another node or before a restart, and releases the streams it parked whose entry
    /// was replayed, skipped or purged by another node or by the <c>dlq</c> command. Resolutions on this node are seen at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan ParkingRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the resolver of a dead letter (a replay, skip or purge) holds the taken entry while it runs its parked
    /// followers, renewed by every follower it reports done. The entry stays in the store until the last one is; if the
    /// resolver stops or dies first, the lease runs out and the next refresh of a parking pool of that handler
    /// (<see cref="ParkingRefreshInterval"/>) runs the followers not reported done — again, for those it had run.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan DeadLetterResolutionLease { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Settings of the handler pool that runs the events of streaming requests.</summary>
public sealed class StreamingPipelineOptions
{
    /// <summary>Most (event, handler) pairs running at once in the streaming pool.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentEventHandlers { get; set; } = 10;

    /// <summary>False runs one pair at a time in emission order.</summary>
    public bool ConcurrentEventHandleEnable { get; set; } = true;
}
