using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Supervision;

/// <summary>A new dead letter, before the store gives it an id.</summary>
/// <param name="Handler">Handler name.</param>
/// <param name="Envelope">The failed event.</param>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">Invocations so far.</param>
/// <param name="FirstFailureAt">First failure.</param>
public sealed record NewDeadLetter(string Handler, EventEnvelope Envelope, HandlerFailure Error, int Attempts, DateTimeOffset FirstFailureAt);

/// <summary>What went wrong in one invocation.</summary>
/// <param name="ErrorType">Exception type.</param>
/// <param name="Message">Exception message.</param>
/// <param name="StackTrace">Stack trace.</param>
/// <param name="Permanent">Whether retrying cannot help.</param>
public sealed record HandlerFailure(string ErrorType, string Message, string? StackTrace, bool Permanent)
{
    /// <summary>From an exception.</summary>
    public static HandlerFailure From(Exception error, bool permanent) =>
        new(error.GetType().FullName ?? error.GetType().Name, error.Message, error.ToString(), permanent);

    /// <inheritdoc />
    public override string ToString() => $"{ErrorType}: {Message}";
}

/// <summary>The durable store of dead letters.</summary>
public interface IDeadLetterStore
{
    /// <summary>Creates the table if it is missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds an entry and returns its id.</summary>
    Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a parked follower on an entry (once: a follower already recorded is not added again). Returns false when
    /// there is no such entry — it was replayed, skipped or purged — and the follower was not recorded: whoever parked
    /// it must run it. Appends and <see cref="TakeAsync"/> of one entry are serialized, so a follower is either in the
    /// taken entry or refused, never both and never neither.
    /// </summary>
    Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default);

    /// <summary>Records another failed attempt.</summary>
    Task RecordFailureAsync(long id, HandlerFailure error, int attempts, CancellationToken cancellationToken = default);

    /// <summary>Entries matching a filter, oldest first.</summary>
    Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>One entry, or null.</summary>
    Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes an entry and returns it as it was when taken, with every follower recorded up to that moment (null when
    /// there was none, or another resolver holds it). Whoever takes an entry owns its recorded followers and runs them;
    /// a follower appended later is refused (<see cref="AddFollowerAsync"/> returns false), so the pool that parked it
    /// runs it. An entry without followers is deleted at once; one with followers stays, out of every listing, in the
    /// <em>resolving</em> state under a lease until each follower is reported done (<see cref="FollowerDoneAsync"/>) —
    /// if its resolver dies first, the lease runs out and a pool of the handler resumes it
    /// (<see cref="ClaimStaleResolutionsAsync"/>).
    /// </summary>
    Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// A follower of a taken entry finished (handled, dead-lettered, or recorded behind another entry): it is removed from
    /// the entry, whose lease is renewed; the entry is deleted with its last follower.
    /// </summary>
    Task FollowerDoneAsync(long id, string eventId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Taken entries of these handlers whose resolver's lease ran out (it stopped or died before reporting every
    /// follower done): claimed under a new lease, with the followers not yet done, for the caller to run.
    /// </summary>
    Task<IReadOnlyList<DeadLetter>> ClaimStaleResolutionsAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes every entry (as <see cref="TakeAsync"/> does, one by one) and returns them, oldest first — except the
    /// entries of <paramref name="except"/> (projections, which resolve their own entries).
    /// </summary>
    Task<IReadOnlyList<DeadLetter>> PurgeAsync(IReadOnlyCollection<string> except, CancellationToken cancellationToken = default);

    /// <summary>The open entries of the given handlers, as keys only (no envelopes), oldest first.</summary>
    Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default);

    /// <summary>How many entries the given handlers have and how many followers are parked on them, counted by the store (no entry is read).</summary>
    Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default);
}

/// <summary>Open dead letters of some handlers, counted.</summary>
/// <param name="Entries">Entries.</param>
/// <param name="ParkedFollowers">Followers parked on them.</param>
public sealed record DeadLetterCount(int Entries, int ParkedFollowers);

/// <summary>Which (handler, aggregate) an open dead letter holds back.</summary>
/// <param name="Id">The entry's id.</param>
/// <param name="Handler">Handler name.</param>
/// <param name="AggregateType">Aggregate type of the dead-lettered event.</param>
/// <param name="AggregateId">Aggregate id of the dead-lettered event.</param>
/// <param name="EventId">Id of the dead-lettered event.</param>
public sealed record DeadLetterKey(long Id, string Handler, string AggregateType, string AggregateId, string EventId);

/// <summary>Creates the store that matches the persistence provider.</summary>
public static class DeadLetterStores
{
    /// <summary>SQL store for SQLite/PostgreSQL, in-memory store for the in-memory provider.</summary>
    /// <param name="persistence">Which database.</param>
    /// <param name="types">The closed type map.</param>
    /// <param name="resolutionLease">How long a resolver holds a taken entry between reports (default: <see cref="SqlDeadLetterStore.DefaultResolutionLease"/>).</param>
    public static IDeadLetterStore Create(PersistenceOptions persistence, MessageTypeRegistry types, TimeSpan? resolutionLease = null) =>
        StorageDialect.Of(persistence.Provider) is { HasDatabase: true } dialect
            ? new SqlDeadLetterStore(dialect.Linq2DbProvider, dialect.ConnectionStringOf(persistence), types, resolutionLease)
            : new InMemoryDeadLetterStore();
}
