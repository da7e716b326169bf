using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Host.Domain.Users;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Host.Domain;

/// <summary>Registration of the sample domain (orders, inventory, users and their handlers) the host runs.</summary>
public static class SampleDomain
{
    /// <summary>Registers the aggregates and the event handlers.</summary>
    public static ActorEventsDomainBuilder AddSampleDomain(this ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<OrderAggregate>()
            .AddAggregate<InventoryAggregate>()
            .AddAggregate<UserAggregate>()
            // order.placed v1 (a bare euro price) is read as v2 (a price with its currency).
            .Upcast<OrderPlacedV1, OrderPlaced>(OrderPlacedV1.Upcast)
            .AddHandler<StockOnShipmentHandler>(h => { h.PartOf = "inventory"; h.StreamCategory = "order"; h.Delivery = HandlerDelivery.Both; })
            .AddHandler<OrderFulfilmentHandler>(h => h.PartOf = "order")
            .AddHandler<InventoryReservationHandler>(h => h.PartOf = "order")
            .AddHandler<AuditLogHandler>()
            .AddHandler<OrderEmailHandler>(h => h.PartOf = "order")
            .AddHandler<WelcomeEmailHandler>(h => h.PartOf = "user")
            .AddHandler<LoyaltyPointsHandler>(h =>
            {
                h.PartOf = "order";
                h.Retry = retry => retry.Permanent<LoyaltyAccountSuspendedException>();
            })
            .AddSampleReadModels()
            // The durable copy of the stock handler (see StockOnShipmentHandler): a subscription of its own.
            .AddSubscription("stock-on-shipment", s => { s.ForEvent("order.shipped"); s.Profile = "fast"; s.Feed<StockOnShipmentHandler>(); })
            .AddStreamingHandler<ImportStock, StockLineImported, StockImportHandler>();

    /// <summary>Registers the services the sample handlers depend on.</summary>
    public static IServiceCollection AddSampleServices(this IServiceCollection services)
    {
        services.AddSingleton<InMemoryEmailOutbox>();
        services.AddSingleton<IEmailSender>(provider => provider.GetRequiredService<InMemoryEmailOutbox>());
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<LoyaltyLedger>();
        services.AddOptions<LoyaltyOptions>().BindConfiguration("Sample:Loyalty");
        return services;
    }
}
