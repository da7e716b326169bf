using System.Runtime.CompilerServices;
using ActorEvents.Actors.Hosting;

namespace ActorEvents.Tests.Fixture;

/// <summary>
/// The framework tests' own domain — stock, orders and users, with no handlers — the default of this assembly's test
/// hosts. A test that needs handlers registers its domain (usually these aggregates plus its handlers) itself; the
/// sample application's domain is not used here.
/// </summary>
public static class FixtureDomain
{
    /// <summary>The fixture as the default test domain.</summary>
    public static TestDomain Domain { get; } = new("the framework tests' fixture domain", domain => domain.AddFixtureDomain(), _ => { });

    /// <summary>Registers the fixture's aggregates.</summary>
    public static ActorEventsDomainBuilder AddFixtureDomain(this ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<StockAggregate>().AddAggregate<OrderAggregate>().AddAggregate<UserAggregate>();

    [ModuleInitializer]
    internal static void UseFixtureDomain() => Domain.UseAsDefault();
}
