using ActorEvents.Actors.Storage;
using System.Collections.Immutable;
using Akka.Persistence.Sql.Journal;
using Akka.Util;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Serialization;

namespace ActorEvents.Actors.Persistence;

/// <summary>Asks a <see cref="GroupCommitSqlJournal"/> for its <see cref="JournalWriteStats"/>.</summary>
public sealed class GetJournalWriteStats
{
    /// <summary>The message.</summary>
    public static readonly GetJournalWriteStats Instance = new();

    private GetJournalWriteStats()
    {
    }
}

/// <summary>
/// Akka.Persistence.Sql's journal with a group-commit write path. Reads, replays, deletes, highest sequence numbers,
/// table creation and the read journal are the plugin's own; writes go to a <see cref="JournalWriteQueue"/> that commits
/// the writes of every persistent actor queued at the same time in one transaction (SQLite: one writer, prepared
/// statements, one WAL sync per batch; PostgreSQL: one <c>unnest</c> statement per batch, <c>parallelism</c> writers).
/// Each <c>PersistAll</c> stays atomic (its rows are never split across transactions), nothing is acknowledged before
/// its commit, durability settings are untouched, and the rows are exactly those the plugin writes (same tables,
/// columns, serializer ids and manifests, tag rows).
/// </summary>
/// <remarks>
/// Why: Akka.Persistence.Sql queues writes into batches too, but only while all its <c>parallelism</c> slots are busy,
/// and builds each insert through linq2db; on SQLite that meant about one commit per command and hundreds of
/// microseconds of CPU per event. See bench/README.md for the measurements.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor: its write queue is disposed in PostStop.")]
internal class GroupCommitSqlJournal : SqlWriteJournal
{
    private readonly JournalWriteQueue _writes;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly string? _defaultSerializer;
    private readonly Dictionary<string, Task> _inFlight = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Created by Akka.Persistence from the plugin's configuration section.</summary>
    public GroupCommitSqlJournal(Config journalConfig) : base(journalConfig)
    {
        var config = new JournalConfig(journalConfig.WithFallback(SqlPersistence.DefaultJournalConfiguration));
        var layout = JournalTableLayout.From(config);
        var writerUuid = Guid.NewGuid().ToString("N");
        var dialect = StorageDialect.OfLinq2DbProvider(config.ProviderName) ?? throw new ConfigurationException(
            $"{nameof(GroupCommitSqlJournal)} writes SQLite and PostgreSQL; provider-name '{config.ProviderName}' needs Akka.Persistence.Sql's SqlWriteJournal.");

        // SQLite: one connection (a single writer anyway). PostgreSQL: one data source, `parallelism` transactions at once.
        IJournalRowWriter writer = dialect.SingleWriter
            ? new SqliteJournalRowWriter(config.ConnectionString, layout, writerUuid)
            : new PostgreSqlJournalRowWriter(config.ConnectionString, layout, writerUuid);
        var log = _log;
        var timeouts = TimeoutsOf(journalConfig, Context.System.Settings.Config);
        // Each commit moves the node's journal head: its subscriptions see local writes at once, without a query.
        var events = Context.System.EventStream;
        _writes = new JournalWriteQueue(writer, dialect.SingleWriter ? 1 : Math.Max(1, config.DaoConfig.Parallelism), config.DaoConfig.BufferSize, config.DaoConfig.BatchSize,
            (error, count) => log.Warning(error, "A journal transaction of {0} writes failed; retrying them one by one.", count), timeouts,
            onCommitted: highest => events.Publish(new JournalCommitted(highest)));
        _serialization = Context.System.Serialization;
        _defaultSerializer = config.DefaultSerializer;
    }

    /// <summary>Configuration key of the write timeout (time to begin a transaction before the write fails as not written).</summary>
    public const string WriteTimeoutKey = "write-timeout";

    /// <summary>Configuration key of the time an uncertain commit is read back before the write fails as outcome-unknown.</summary>
    public const string CommitResolutionTimeoutKey = "commit-resolution-timeout";

    /// <summary>
    /// Reads the write deadlines and checks them against the circuit breaker: the breaker's <c>call-timeout</c> must be longer
    /// than the longest time to an outcome, or it could report a write as failed that commits afterwards.
    /// </summary>
    /// <exception cref="ConfigurationException">The breaker's call-timeout is not longer than the writer's deadlines.</exception>
    internal static JournalWriteTimeouts TimeoutsOf(Config journalConfig, Config systemConfig)
    {
        var timeouts = new JournalWriteTimeouts(
            journalConfig.GetTimeSpan(WriteTimeoutKey, JournalWriteTimeouts.Default.WriteTimeout),
            journalConfig.GetTimeSpan(CommitResolutionTimeoutKey, JournalWriteTimeouts.Default.CommitResolutionTimeout));
        var callTimeout = journalConfig.GetTimeSpan("circuit-breaker.call-timeout",
            systemConfig.GetTimeSpan("akka.persistence.journal-plugin-fallback.circuit-breaker.call-timeout", TimeSpan.FromSeconds(10)));
        if (timeouts.WriteTimeout <= TimeSpan.Zero || timeouts.CommitResolutionTimeout < TimeSpan.Zero)
        {
            throw new ConfigurationException($"The journal's {WriteTimeoutKey} must be positive and {CommitResolutionTimeoutKey} not negative.");
        }

        if (callTimeout <= timeouts.LongestOutcome)
        {
            throw new ConfigurationException(
                $"The journal's circuit-breaker.call-timeout ({callTimeout.TotalSeconds:0.###}s) must be longer than {WriteTimeoutKey} + {JournalWriteTimeouts.StatementSlack.TotalSeconds:0}s + "
                + $"{CommitResolutionTimeoutKey} ({timeouts.LongestOutcome.TotalSeconds:0.###}s): otherwise the breaker could report a write as failed that commits afterwards.");
        }

        return timeouts;
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writeTime = DateTime.UtcNow.Ticks;
        var atomicWrites = messages as IReadOnlyList<AtomicWrite> ?? [.. messages];
        var rows = new List<PendingJournalRow>();
        Exception?[]? rejections = null;
        for (var i = 0; i < atomicWrites.Count; i++)
        {
            var before = rows.Count;
            try
            {
                foreach (var representation in (IEnumerable<IPersistentRepresentation>)atomicWrites[i].Payload)
                {
                    rows.Add(Serialize(representation, writeTime));
                }
            }
            catch (Exception error)
            {
                // Akka's contract: a write that cannot be serialized is rejected (the actor stays up); the others go on.
                rows.RemoveRange(before, rows.Count - before);
                rejections ??= new Exception?[atomicWrites.Count];
                rejections[i] = error;
            }
        }

        if (rows.Count == 0)
        {
            return Task.FromResult<IImmutableList<Exception>>(Rejections(rejections));
        }

        var persistenceId = rows[0].PersistenceId;
        var committed = _writes.EnqueueAsync(new JournalWrite(rows));
        _inFlight[persistenceId] = committed;
        var self = Self;
        committed.ContinueWith(
            task => self.Tell(new WriteCommitted(persistenceId, task)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var count = atomicWrites.Count;
        return committed.ContinueWith<IImmutableList<Exception>>(
            task =>
            {
                if (task.Exception?.InnerException is JournalWriteNotWrittenException and (JournalOverloadedException or JournalWriteExpiredException) and var refused)
                {
                    // Certainly not written, and not the database failing: a rejection (the breaker does not count it).
                    return ImmutableList.CreateRange(Enumerable.Range(0, count).Select(i => rejections?[i] ?? (Exception)refused));
                }

                task.GetAwaiter().GetResult(); // any other failure fails the whole request (Akka then stops the actor)
                return Rejections(rejections);
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        // A restarted actor must not read its highest sequence number while its previous incarnation's write is in flight.
        if (_inFlight.TryGetValue(persistenceId, out var inFlight))
        {
            await inFlight.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                .ConfigureAwait(false);
        }

        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case WriteCommitted committed:
                if (_inFlight.TryGetValue(committed.PersistenceId, out var latest) && latest == committed.Write)
                {
                    _inFlight.Remove(committed.PersistenceId);
                }

                return true;
            case GetJournalWriteStats:
                Sender.Tell(_writes.Stats);
                return true;
            default:
                return base.ReceivePluginInternal(message);
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Queued writes still commit (their actors are stopping too); the connections close afterwards.
        _ = _writes.DisposeAsync().AsTask();
        base.PostStop();
    }

    /// <summary>Akka's contract: null when every write went through, else one entry per write (null where it went through).</summary>
    private static ImmutableList<Exception> Rejections(Exception?[]? rejections) =>
        rejections is null ? null! : ImmutableList.Create<Exception>(rejections!);

    private PendingJournalRow Serialize(IPersistentRepresentation representation, long writeTime)
    {
        var (payload, tags) = representation.Payload is Tagged tagged
            ? (tagged.Payload, (IReadOnlyList<string>)[.. tagged.Tags])
            : (representation.Payload, []);
        var serializer = _serialization.FindSerializerForType(payload.GetType(), _defaultSerializer);
        var manifest = serializer switch
        {
            SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        var message = Akka.Serialization.Serialization.WithTransport(_serialization.System, (serializer, payload), static state => state.serializer.ToBinary(state.payload));
        return new PendingJournalRow(
            representation.Timestamp == 0 ? writeTime : representation.Timestamp,
            representation.PersistenceId, representation.SequenceNr, message, manifest, serializer.Identifier, tags);
    }

    private sealed record WriteCommitted(string PersistenceId, Task Write);
}
