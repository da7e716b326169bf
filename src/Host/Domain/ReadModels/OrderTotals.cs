using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Queries;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace ActorEvents.Host.Domain.ReadModels;

/// <summary>Orders and their value in one status.</summary>
/// <param name="Status">placed, processed, shipped or cancelled.</param>
/// <param name="Orders">Orders in that status.</param>
/// <param name="Amount">Their total value.</param>
public sealed record OrderStatusTotal(string Status, long Orders, decimal Amount);

/// <summary>Order totals per status, from the <c>order-totals</c> projection.</summary>
/// <param name="ByStatus">One line per status that has orders, in lifecycle order.</param>
public sealed record OrderTotals(IReadOnlyList<OrderStatusTotal> ByStatus);

/// <summary>Asks for the order totals per status.</summary>
public sealed record GetOrderTotals : IQuery<OrderTotals>;

/// <summary>
/// Keeps, per order, its status and value (<c>sample_orders</c>) and, per status, how many orders are in it and their
/// total value (<c>sample_order_totals</c>, in cents). Each order event moves its order from one status to the next.
/// </summary>
public sealed class OrderTotalsProjection : IProjector
{
    /// <summary>Statuses in lifecycle order.</summary>
    public static IReadOnlyList<string> Statuses { get; } = [Name(OrderStatus.Placed), Name(OrderStatus.Processed), Name(OrderStatus.Shipped), Name(OrderStatus.Cancelled)];

    /// <summary>The status name stored for a status.</summary>
    public static string Name(OrderStatus status) => status.ToString().ToLowerInvariant();

    /// <inheritdoc />
    public async Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken)
    {
        await connection.CreateTableAsync<OrderRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken).ConfigureAwait(false);
        await connection.CreateTableAsync<OrderTotalRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ProjectAsync(EventEnvelope envelope, ProjectionContext context)
    {
        var db = context.Connection;
        var token = context.CancellationToken;
        switch (envelope.Event)
        {
            case OrderPlaced placed:
                var cents = (long)Math.Round(placed.Quantity * placed.UnitPrice.Amount * 100m, MidpointRounding.AwayFromZero);
                await db.InsertAsync(new OrderRow { OrderId = placed.OrderId, Status = Name(OrderStatus.Placed), TotalCents = cents }, token: token).ConfigureAwait(false);
                await AddAsync(db, Name(OrderStatus.Placed), 1, cents, token).ConfigureAwait(false);
                break;
            case OrderProcessed processed:
                await MoveAsync(db, processed.OrderId, OrderStatus.Processed, token).ConfigureAwait(false);
                break;
            case OrderShipped shipped:
                await MoveAsync(db, shipped.OrderId, OrderStatus.Shipped, token).ConfigureAwait(false);
                break;
            case OrderCancelled cancelled:
                await MoveAsync(db, cancelled.OrderId, OrderStatus.Cancelled, token).ConfigureAwait(false);
                break;
        }
    }

    /// <inheritdoc />
    public async Task ClearAsync(DataConnection connection, CancellationToken cancellationToken)
    {
        await connection.GetTable<OrderRow>().DeleteAsync(cancellationToken).ConfigureAwait(false);
        await connection.GetTable<OrderTotalRow>().DeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task MoveAsync(DataConnection db, string orderId, OrderStatus to, CancellationToken token)
    {
        var order = await db.GetTable<OrderRow>().FirstOrDefaultAsync(o => o.OrderId == orderId, token).ConfigureAwait(false);
        if (order is null || order.Status == Name(to))
        {
            return;
        }

        await AddAsync(db, order.Status, -1, -order.TotalCents, token).ConfigureAwait(false);
        await AddAsync(db, Name(to), 1, order.TotalCents, token).ConfigureAwait(false);
        await db.GetTable<OrderRow>().Where(o => o.OrderId == orderId).Set(o => o.Status, Name(to)).UpdateAsync(token).ConfigureAwait(false);
    }

    private static Task<int> AddAsync(DataConnection db, string status, long orders, long cents, CancellationToken token) =>
        db.GetTable<OrderTotalRow>().InsertOrUpdateAsync(
            () => new OrderTotalRow { Status = status, Orders = orders, TotalCents = cents },
            row => new OrderTotalRow { Orders = row.Orders + orders, TotalCents = row.TotalCents + cents },
            token: token);

    /// <summary>One order's status and value.</summary>
    [Table("sample_orders")]
    public sealed class OrderRow
    {
        /// <summary>Order id.</summary>
        [PrimaryKey, Column("order_id", Length = 200), NotNull]
        public string OrderId { get; set; } = string.Empty;

        /// <summary>Current status.</summary>
        [Column("status", Length = 20), NotNull]
        public string Status { get; set; } = string.Empty;

        /// <summary>Order value in cents.</summary>
        [Column("total_cents"), NotNull]
        public long TotalCents { get; set; }
    }

    /// <summary>Orders and value per status.</summary>
    [Table("sample_order_totals")]
    public sealed class OrderTotalRow
    {
        /// <summary>Status.</summary>
        [PrimaryKey, Column("status", Length = 20), NotNull]
        public string Status { get; set; } = string.Empty;

        /// <summary>Orders in the status.</summary>
        [Column("orders"), NotNull]
        public long Orders { get; set; }

        /// <summary>Their value in cents.</summary>
        [Column("total_cents"), NotNull]
        public long TotalCents { get; set; }
    }
}

/// <summary>Answers <see cref="GetOrderTotals"/> from the projection's table.</summary>
public sealed class OrderTotalsQueryHandler : IQueryHandler<GetOrderTotals, OrderTotals>
{
    /// <inheritdoc />
    public async Task<OrderTotals> HandleAsync(GetOrderTotals query, QueryContext context)
    {
        await using var db = context.Database.Open();
        var rows = await db.GetTable<OrderTotalsProjection.OrderTotalRow>().Where(r => r.Orders != 0).ToListAsync(context.CancellationToken).ConfigureAwait(false);
        return new OrderTotals(rows
            .OrderBy(r => OrderTotalsProjection.Statuses.ToList().IndexOf(r.Status))
            .Select(r => new OrderStatusTotal(r.Status, r.Orders, r.TotalCents / 100m))
            .ToArray());
    }
}
