using ActorEvents.Actors.Hosting;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;

namespace ActorEvents.Host.Domain;

/// <summary>Registration of the sample domain (orders and inventory) the host runs.</summary>
public static class SampleDomain
{
    /// <summary>Registers the Order and Inventory aggregates.</summary>
    public static ActorEventsDomainBuilder AddSampleDomain(this ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<OrderAggregate>()
            .AddAggregate<InventoryAggregate>();
}
