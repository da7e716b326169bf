using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>Resolution of the registered subscriptions against the domain, and the profiles: pure, no host.</summary>
public sealed class SubscriptionCatalogTests
{
    private static ActorEventsDomainBuilder Ledger() => new ActorEventsDomainBuilder().AddAggregate<LedgerAggregate>();

    [Fact]
    public void Should_feed_each_durable_handler_from_one_subscription_and_give_an_unclaimed_one_its_own()
    {
        var domain = Ledger()
            .AddHandler<DeliveryProbeHandler>(h => { h.Name = "probe"; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = "effects"; h.Delivery = HandlerDelivery.Both; h.StreamCategory = LedgerAggregate.TypeName; })
            .AddSubscription("audit", s => { s.Tag = LedgerAggregate.Tag; s.Handlers.Add("probe"); s.Profile = "batch"; s.BatchSize = 50; })
            .Build();

        var audit = domain.Subscriptions[0];
        Assert.Equal(("audit", SubscriptionKind.Handlers, LedgerAggregate.Tag), (audit.Name, audit.Kind, audit.Tag));
        Assert.Equal(["probe"], audit.FedNames);
        Assert.Equal(SubscriptionProfiles.Batch with { BatchSize = 50 }, audit.Profile);

        var own = domain.Subscriptions[1];
        Assert.Equal(("effects", LedgerAggregate.Tag, SubscriptionProfiles.Production), (own.Name, own.Tag, own.Profile));
        Assert.Equal(["effects"], own.FedNames);
    }

    [Fact]
    public void Should_refuse_a_handler_that_two_subscriptions_would_feed()
    {
        var builder = Ledger()
            .AddHandler<DeliveryProbeHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddSubscription("one", s => s.Feed<DeliveryProbeHandler>())
            .AddSubscription("two", s => s.Feed<DeliveryProbeHandler>());

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("would run twice for one event", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_give_a_subscription_without_named_handlers_only_those_no_other_subscription_names()
    {
        var domain = Ledger()
            .AddHandler<DeliveryProbeHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddHandler<LedgerEffectsHandler>(h => h.Delivery = HandlerDelivery.Durable)
            .AddSubscription("everything", s => s.Tag = null)
            .AddSubscription("effects-only", s => s.Feed<LedgerEffectsHandler>())
            .Build();

        Assert.Equal([nameof(DeliveryProbeHandler)], domain.Subscriptions.Single(s => s.Name == "everything").FedNames);
        Assert.Equal("all events", domain.Subscriptions.Single(s => s.Name == "everything").Source);
        Assert.Equal([nameof(LedgerEffectsHandler)], domain.Subscriptions.Single(s => s.Name == "effects-only").FedNames);
    }

    [Theory]
    [InlineData("aggregate:no-such-aggregate", "no aggregate named 'no-such-aggregate'")]
    [InlineData("event:no.such-event", "no aggregate persists an event named 'no.such-event'")]
    [InlineData("stream:order", "a tag is 'aggregate:<aggregate>' or 'event:<event name>'")]
    public void Should_refuse_a_tag_that_nothing_writes(string tag, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Ledger().AddSubscription("s", s => s.Tag = tag).Build());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("-leading-dash")]
    [InlineData("")]
    public void Should_refuse_an_invalid_name(string name)
    {
        Assert.Throws<InvalidOperationException>(() => Ledger().AddSubscription(name, s => s.Tag = LedgerAggregate.Tag).Build());
    }

    [Fact]
    public void Should_refuse_an_in_request_handler_named_by_a_subscription_and_an_unknown_profile()
    {
        var inRequest = Assert.Throws<InvalidOperationException>(() => Ledger()
            .AddHandler<DeliveryProbeHandler>()
            .AddSubscription("s", s => s.Feed<DeliveryProbeHandler>()).Build());
        Assert.Contains("in-request delivery only", inRequest.Message, StringComparison.Ordinal);

        var profile = Assert.Throws<InvalidOperationException>(() => Ledger().AddSubscription("s", s => s.Profile = "turbo").Build());
        Assert.Contains("production, fast, batch, debug, projection", profile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_apply_configured_tuning_over_the_registered_profile_and_refuse_figures_out_of_range()
    {
        var definition = Ledger().AddProjection<LedgerProjector>("totals", p => p.Tag = LedgerAggregate.Tag).Build().Subscriptions.Single();
        Assert.Equal(SubscriptionProfiles.Projection, definition.Profile);

        var tuned = SubscriptionProfiles.Effective(definition, new SubscriptionsOptions
        {
            Tuning = { ["totals"] = new SubscriptionTuningOptions { Profile = "fast", PollInterval = TimeSpan.FromMilliseconds(5) } },
        });
        Assert.Equal(SubscriptionProfiles.Fast with { PollInterval = TimeSpan.FromMilliseconds(5) }, tuned);

        var error = Assert.Throws<InvalidOperationException>(() => SubscriptionProfiles.Effective(definition, new SubscriptionsOptions
        {
            Tuning = { ["totals"] = new SubscriptionTuningOptions { BatchSize = 0 } },
        }));
        Assert.Contains("ActorEvents:Subscriptions:Tuning:totals", error.Message, StringComparison.Ordinal);
    }
}
