using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;

namespace ActorEvents.Host.Domain.ReadModels;

/// <summary>Registration of the sample read side: two projections with their queries, and the durable shipment ledger.</summary>
public static class SampleReadModels
{
    /// <summary>Registers the projections, the durable handler, its subscription and the queries.</summary>
    public static ActorEventsDomainBuilder AddSampleReadModels(this ActorEventsDomainBuilder domain) =>
        domain
            .AddProjection<OrderTotalsProjection>("order-totals", p => p.ForAggregate("order"))
            .AddProjection<StockLevelsProjection>("stock-levels", p => p.ForAggregate("inventory"))
            .AddHandler<ShipmentLedgerHandler>(h => { h.Delivery = HandlerDelivery.Durable; h.PartOf = "inventory"; h.StreamCategory = "order"; })
            .AddReadModelSchema<ShipmentLedgerHandler>()
            .AddSubscription("order-shipments", s => { s.ForEvent("order.shipped"); s.Profile = "fast"; s.Feed<ShipmentLedgerHandler>(); })
            .AddQueryHandler<GetOrderTotals, OrderTotals, OrderTotalsQueryHandler>()
            .AddQueryHandler<GetStockLevels, StockLevels, StockLevelsQueryHandler>()
            .AddQueryHandler<GetShippedUnits, ShippedUnits, ShippedUnitsQueryHandler>();
}
