using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Queries;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace ActorEvents.Host.Domain.ReadModels;

/// <summary>One SKU in the inventory read model.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="OnHand">Units on hand after its latest stock event.</param>
/// <param name="Movements">Stock events seen for it.</param>
/// <param name="Version">Sequence number of its latest stock event.</param>
public sealed record StockLevel(string Sku, int OnHand, long Movements, long Version);

/// <summary>Stock levels from the <c>stock-levels</c> projection.</summary>
/// <param name="Skus">One line per SKU, by SKU.</param>
public sealed record StockLevels(IReadOnlyList<StockLevel> Skus);

/// <summary>Asks for the stock level of one SKU, or of every SKU.</summary>
/// <param name="Sku">One SKU, or null for all.</param>
public sealed record GetStockLevels(string? Sku = null) : IQuery<StockLevels>;

/// <summary>The inventory read model (<c>sample_stock_levels</c>): units on hand per SKU, as its events state them.</summary>
public sealed class StockLevelsProjection : IProjector
{
    /// <inheritdoc />
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<StockLevelRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);

    /// <inheritdoc />
    public Task ProjectAsync(EventEnvelope envelope, ProjectionContext context)
    {
        var (sku, onHand) = envelope.Event switch
        {
            StockAdded added => (added.Sku, added.OnHand),
            StockReduced reduced => (reduced.Sku, reduced.OnHand),
            StockRestored restored => (restored.Sku, restored.OnHand),
            _ => (null, 0),
        };
        if (sku is null)
        {
            return Task.CompletedTask;
        }

        var version = envelope.SequenceNr;
        return context.Connection.GetTable<StockLevelRow>().InsertOrUpdateAsync(
            () => new StockLevelRow { Sku = sku, OnHand = onHand, Movements = 1, Version = version },
            row => new StockLevelRow { OnHand = onHand, Movements = row.Movements + 1, Version = version },
            token: context.CancellationToken);
    }

    /// <inheritdoc />
    public Task ClearAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.GetTable<StockLevelRow>().DeleteAsync(cancellationToken);

    /// <summary>One SKU.</summary>
    [Table("sample_stock_levels")]
    public sealed class StockLevelRow
    {
        /// <summary>SKU.</summary>
        [PrimaryKey, Column("sku", Length = 200), NotNull]
        public string Sku { get; set; } = string.Empty;

        /// <summary>Units on hand.</summary>
        [Column("on_hand"), NotNull]
        public int OnHand { get; set; }

        /// <summary>Stock events seen.</summary>
        [Column("movements"), NotNull]
        public long Movements { get; set; }

        /// <summary>Sequence number of the latest.</summary>
        [Column("version"), NotNull]
        public long Version { get; set; }
    }
}

/// <summary>Answers <see cref="GetStockLevels"/>.</summary>
public sealed class StockLevelsQueryHandler : IQueryHandler<GetStockLevels, StockLevels>
{
    /// <inheritdoc />
    public async Task<StockLevels> HandleAsync(GetStockLevels query, QueryContext context)
    {
        await using var db = context.Database.Open();
        var rows = db.GetTable<StockLevelsProjection.StockLevelRow>().AsQueryable();
        if (query.Sku is { } sku)
        {
            rows = rows.Where(r => r.Sku == sku);
        }

        var levels = await rows.OrderBy(r => r.Sku).ToListAsync(context.CancellationToken).ConfigureAwait(false);
        return new StockLevels(levels.Select(r => new StockLevel(r.Sku, r.OnHand, r.Movements, r.Version)).ToArray());
    }
}
