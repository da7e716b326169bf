using ActorEvents.Messages;
using LinqToDB.Data;

namespace ActorEvents.Actors.Projections;

/// <summary>
/// Tables of a read model, created when a node starts (SQLite and PostgreSQL, through linq2db; on PostgreSQL under the
/// schema advisory lock, so nodes starting together do not race). Implement it with
/// <c>CreateTableAsync&lt;TRow&gt;(tableOptions: TableOptions.CreateIfNotExists)</c> per table.
/// </summary>
public interface IReadModelSchema
{
    /// <summary>Creates the tables that are missing.</summary>
    Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken);
}

/// <summary>
/// Keeps a read model in SQL tables from the events of one subscription. The runtime opens a transaction per batch,
/// calls <see cref="ProjectAsync"/> for each event in journal order and commits the tables together with the
/// projection's checkpoint: an event is applied exactly once, even across crashes. Resolved from dependency
/// injection (a fresh instance per batch).
/// </summary>
public interface IProjector : IReadModelSchema
{
    /// <summary>Applies one event to the read model, through <see cref="ProjectionContext.Connection"/> only (it is inside the batch's transaction).</summary>
    Task ProjectAsync(EventEnvelope envelope, ProjectionContext context);

    /// <summary>Deletes every row of the read model (a rebuild; inside the transaction that resets the checkpoint).</summary>
    Task ClearAsync(DataConnection connection, CancellationToken cancellationToken);
}

/// <summary>What a projector works with while it applies a batch.</summary>
public sealed class ProjectionContext
{
    internal ProjectionContext(string projection, DataConnection connection, long position, CancellationToken cancellationToken)
    {
        Projection = projection;
        Connection = connection;
        Position = position;
        CancellationToken = cancellationToken;
    }

    /// <summary>Name of the projection.</summary>
    public string Projection { get; }

    /// <summary>The connection, inside the batch's transaction: every write through it commits with the checkpoint, or not at all.</summary>
    public DataConnection Connection { get; }

    /// <summary>Journal position (ordering) of the event being applied.</summary>
    public long Position { get; internal set; }

    /// <summary>Cancelled when the batch times out or the node stops.</summary>
    public CancellationToken CancellationToken { get; }
}
