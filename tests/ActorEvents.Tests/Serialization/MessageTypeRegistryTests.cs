using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;

namespace ActorEvents.Tests.Serialization;

public sealed class MessageTypeRegistryTests
{
    [Fact]
    public void Should_register_a_type_under_its_message_name_and_version()
    {
        var registry = new MessageTypeRegistry();

        var registered = registry.Register(typeof(VersionedEvent));

        Assert.Equal(new RegisteredType("test.versioned", 3, typeof(VersionedEvent)), registered);
        Assert.Same(typeof(VersionedEvent), registry.Get("test.versioned").ClrType);
        Assert.Equal("test.versioned", registry.Get(typeof(VersionedEvent)).Name);
    }

    [Fact]
    public void Should_refuse_a_type_without_a_message_name()
    {
        var registry = new MessageTypeRegistry();

        var error = Assert.Throws<InvalidOperationException>(() => registry.Register(typeof(UnnamedEvent)));

        Assert.Contains("[MessageName]", error.Message, StringComparison.Ordinal);
        Assert.False(registry.TryGet(typeof(UnnamedEvent), out _));
    }

    [Fact]
    public void Should_refuse_a_stable_name_already_taken_by_another_type()
    {
        var registry = new MessageTypeRegistry();
        registry.Register(typeof(OrderPlaced));

        var error = Assert.Throws<InvalidOperationException>(() => registry.Register(typeof(ImpostorOrderPlaced)));

        Assert.Contains("order.placed", error.Message, StringComparison.Ordinal);
        Assert.Same(typeof(OrderPlaced), registry.Get("order.placed").ClrType);
    }

    [Fact]
    public void Should_refuse_registering_one_type_under_two_names()
    {
        var registry = new MessageTypeRegistry();
        registry.Register(typeof(OrderPlaced));

        Assert.Throws<InvalidOperationException>(() => registry.Register(typeof(OrderPlaced), "order.placed.v2"));
    }

    [Fact]
    public void Should_accept_registering_the_same_type_under_the_same_name_twice()
    {
        var registry = new MessageTypeRegistry();

        registry.Register(typeof(OrderPlaced));
        registry.Register(typeof(OrderPlaced));

        Assert.Single(registry.All);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("order placed")]
    public void Should_refuse_an_invalid_stable_name(string name)
    {
        Assert.Throws<InvalidOperationException>(() => new MessageTypeRegistry().Register(typeof(UnnamedEvent), name));
    }

    [Fact]
    public void Should_refuse_a_schema_version_below_one()
    {
        Assert.Throws<InvalidOperationException>(() => new MessageTypeRegistry().Register(typeof(UnnamedEvent), "test.unnamed", 0));
    }

    [Fact]
    public void Should_refuse_registrations_once_frozen()
    {
        var registry = new MessageTypeRegistry();
        registry.Freeze();

        Assert.Throws<InvalidOperationException>(() => registry.Register(typeof(OrderPlaced)));
    }

    [Fact]
    public void Should_throw_an_unregistered_type_exception_for_unknown_names_and_types()
    {
        var registry = new MessageTypeRegistry();

        Assert.Throws<UnregisteredTypeException>(() => registry.Get("System.Diagnostics.Process, System"));
        Assert.Throws<UnregisteredTypeException>(() => registry.Get(typeof(OrderPlaced)));
    }

    [Fact]
    public void Should_build_a_frozen_closed_map_of_the_sample_domain()
    {
        var domain = new ActorEventsDomainBuilder().AddFixtureDomain().Build();

        var names = domain.Types.All.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(names, new HashSet<string>(StringComparer.Ordinal)
        {
            "inventory.add-stock", "inventory.reduce-stock", "inventory.restore-stock", "inventory.state",
            "inventory.stock-added", "inventory.stock-reduced", "inventory.stock-restored",
            "order.cancel", "order.cancelled", "order.place", "order.placed", "order.ship", "order.shipped", "order.state",
        });
        Assert.All(domain.Types.All, t => Assert.Equal(t, domain.Types.Get(t.Name)));
        Assert.All(domain.Types.All, t => Assert.DoesNotContain(t.ClrType.Name, t.Name, StringComparison.Ordinal));
        Assert.Equal("order", domain.CommandOwners[typeof(PlaceOrder)].Definition.Name);
        Assert.Equal("order", domain.CommandOwners[typeof(ShipOrder)].Definition.Name);
        Assert.Equal("inventory", domain.CommandOwners[typeof(ReduceStock)].Definition.Name);
        Assert.DoesNotContain(typeof(OrderPlaced), domain.CommandOwners.Keys);
        Assert.Throws<InvalidOperationException>(() => domain.Types.Register(typeof(VersionedEvent)));
    }

    [Fact]
    public void Should_refuse_at_domain_build_an_extra_message_type_without_a_message_name()
    {
        var builder = new ActorEventsDomainBuilder().AddFixtureDomain().AddMessageType<UnnamedEvent>();

        Assert.Throws<InvalidOperationException>(builder.Build);
    }

    [Fact]
    public void Should_refuse_at_domain_build_an_extra_message_type_that_reuses_a_name()
    {
        var builder = new ActorEventsDomainBuilder().AddFixtureDomain().AddMessageType<ImpostorOrderPlaced>();

        Assert.Throws<InvalidOperationException>(builder.Build);
    }

    [Fact]
    public void Should_refuse_registering_the_same_aggregate_twice()
    {
        var builder = new ActorEventsDomainBuilder().AddAggregate<OrderAggregate>();

        Assert.Throws<InvalidOperationException>(() => builder.AddAggregate<OrderAggregate>());
    }
}

[MessageName("test.versioned", Version = 3)]
public sealed record VersionedEvent(string Value) : IEvent;

[MessageName("order.placed")]
public sealed record ImpostorOrderPlaced(string OrderId) : IEvent;
