using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Queries;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace ActorEvents.Host.Domain.ReadModels;

/// <summary>Units shipped of one SKU.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Units">Units shipped.</param>
/// <param name="Shipments">Shipments.</param>
public sealed record ShippedSku(string Sku, long Units, long Shipments);

/// <summary>The shipment ledger.</summary>
/// <param name="Skus">One line per SKU.</param>
public sealed record ShippedUnits(IReadOnlyList<ShippedSku> Skus);

/// <summary>Asks for the shipment ledger.</summary>
public sealed record GetShippedUnits : IQuery<ShippedUnits>;

/// <summary>
/// A durable handler with an effect that is not idempotent by itself (it adds the shipped units to a ledger row):
/// fed by the <c>order-shipments</c> subscription, it registers its write with its unit of work, so the addition commits
/// together with the processed-event record and a redelivered event does not add twice.
/// </summary>
public sealed class ShipmentLedgerHandler : IHandle<OrderShipped>, IReadModelSchema
{
    /// <inheritdoc />
    public Task HandleAsync(OrderShipped @event, EventContext context)
    {
        context.UnitOfWork().Write((connection, token) => connection.GetTable<ShippedUnitsRow>().InsertOrUpdateAsync(
            () => new ShippedUnitsRow { Sku = @event.Sku, Units = @event.Quantity, Shipments = 1 },
            row => new ShippedUnitsRow { Units = row.Units + @event.Quantity, Shipments = row.Shipments + 1 },
            token: token));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<ShippedUnitsRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);

    /// <summary>Units shipped per SKU (<c>sample_shipped_units</c>).</summary>
    [Table("sample_shipped_units")]
    public sealed class ShippedUnitsRow
    {
        /// <summary>SKU.</summary>
        [PrimaryKey, Column("sku", Length = 200), NotNull]
        public string Sku { get; set; } = string.Empty;

        /// <summary>Units shipped.</summary>
        [Column("units"), NotNull]
        public long Units { get; set; }

        /// <summary>Shipments.</summary>
        [Column("shipments"), NotNull]
        public long Shipments { get; set; }
    }
}

/// <summary>Answers <see cref="GetShippedUnits"/>.</summary>
public sealed class ShippedUnitsQueryHandler : IQueryHandler<GetShippedUnits, ShippedUnits>
{
    /// <inheritdoc />
    public async Task<ShippedUnits> HandleAsync(GetShippedUnits query, QueryContext context)
    {
        await using var db = context.Database.Open();
        var rows = await db.GetTable<ShipmentLedgerHandler.ShippedUnitsRow>().OrderBy(r => r.Sku).ToListAsync(context.CancellationToken).ConfigureAwait(false);
        return new ShippedUnits(rows.Select(r => new ShippedSku(r.Sku, r.Units, r.Shipments)).ToArray());
    }
}
