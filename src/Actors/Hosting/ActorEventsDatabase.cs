using ActorEvents.Actors.Configuration;
using LinqToDB;
using LinqToDB.Data;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// The SQL database of the journal, seen through linq2db: where checkpoints, processed-event records and read models
/// live, so that a projection's tables and its checkpoint can commit in one transaction. Registered as a singleton.
/// </summary>
public sealed class ActorEventsDatabase
{
    private readonly DataOptions? _options;

    /// <summary>Creates the database description for the configured provider.</summary>
    public ActorEventsDatabase(PersistenceOptions persistence)
    {
        Provider = persistence.Provider;
        if (Provider != PersistenceProviders.InMemory)
        {
            _options = new DataOptions().UseConnectionString(PersistenceHocon.Linq2DbProviderOf(Provider), PersistenceHocon.ConnectionStringOf(persistence));
        }
    }

    /// <summary>The persistence provider (<see cref="PersistenceProviders"/>).</summary>
    public string Provider { get; }

    /// <summary>False for the in-memory provider, which has no SQL database.</summary>
    public bool IsAvailable => _options is not null;

    /// <summary>True on PostgreSQL (schema changes there run under the schema advisory lock).</summary>
    public bool IsPostgreSql => Provider == PersistenceProviders.PostgreSql;

    /// <summary>Opens a connection; dispose it when done (one per unit of work).</summary>
    /// <exception cref="InvalidOperationException">The provider is in-memory.</exception>
    public DataConnection Open() => _options is not null
        ? new DataConnection(_options)
        : throw new InvalidOperationException("The in-memory persistence provider has no SQL database for checkpoints and read models; use sqlite or postgresql.");

    /// <summary>
    /// Runs schema changes in one transaction; on PostgreSQL under the same advisory lock as <see cref="DatabaseSchema"/>,
    /// so nodes starting together never race on CREATE TABLE.
    /// </summary>
    public async Task ChangeSchemaAsync(Func<DataConnection, CancellationToken, Task> change, CancellationToken cancellationToken = default)
    {
        await using var db = Open();
        await using var transaction = await db.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (IsPostgreSql)
        {
            await db.ExecuteAsync($"SELECT pg_advisory_xact_lock({DatabaseSchema.SchemaLockKey})", cancellationToken).ConfigureAwait(false);
        }

        await change(db, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
