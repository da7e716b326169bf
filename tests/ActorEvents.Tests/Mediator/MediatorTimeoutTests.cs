using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;

namespace ActorEvents.Tests.Mediator;

/// <summary>
/// The mediator against a region that is a TestProbe (in the host's actor system, so the production serializer
/// checks the commands): timeouts and relaying of replies.
/// </summary>
public sealed class MediatorTimeoutTests(InMemoryHostFixture fixture) : HostedTestKit(fixture.Host), IClassFixture<InMemoryHostFixture>
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMilliseconds(300);

    private (Akka.Actor.IActorRef Mediator, Akka.TestKit.TestProbe Region, Akka.TestKit.TestProbe Router) StartMediator()
    {
        var region = CreateTestProbe();
        var router = CreateTestProbe();
        var routes = new Dictionary<Type, AggregateRoute>
        {
            [typeof(PlaceOrder)] = new(new OrderAggregate(), region.Ref),
        };
        var settings = new CommandMediatorSettings(
            new MediatorOptions { CommandTimeout = CommandTimeout }, new PipelineOptions(), router.Ref, router.Ref);
        return (Sys.ActorOf(CommandMediator.Props(routes, settings)), region, router);
    }

    [Fact]
    public async Task Should_reply_timeout_when_the_aggregate_never_answers_and_write_nothing()
    {
        var (mediator, region, router) = StartMediator();
        var orderId = $"timeout-{Guid.NewGuid():N}";
        var command = new PlaceOrder(orderId, "c-1", "sku-1", 1, 1m);

        mediator.Tell(new SubmitCommand(command, new CommandMetadata("cmd-timeout", "corr-timeout", "origin")), TestActor);

        var request = region.ExpectMsg<AggregateRequest>();
        Assert.Equal(command, request.Command);
        Assert.Equal(("cmd-timeout", "corr-timeout", "origin"), (request.CommandId, request.CorrelationId, request.OriginStream));
        var rejected = ExpectMsg<CommandRejected>(TimeSpan.FromSeconds(5));
        Assert.Equal(RejectionCode.Timeout, rejected.Code);
        Assert.Equal("cmd-timeout", rejected.CommandId);
        Assert.Contains("retry with the same command id", rejected.Message, StringComparison.Ordinal);

        // An answer that arrives after the timeout is not relayed a second time, and nothing is dispatched.
        region.LastSender.Tell(new CommandRejected(RejectionCode.DomainRuleViolation, "late") { CommandId = "cmd-timeout" }, region.Ref);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        router.ExpectNoMsg(TimeSpan.Zero);
        Assert.Empty(await JournalReader.ReadAsync(HostSystem, StreamNames.For("order", orderId)));
    }

    [Fact]
    public void Should_not_time_out_a_command_answered_within_the_timeout()
    {
        var (mediator, region, _) = StartMediator();

        mediator.Tell(new SubmitCommand(new PlaceOrder("o-fast", "c-1", "sku-1", 1, 1m), new CommandMetadata("cmd-fast")), TestActor);
        region.ExpectMsg<AggregateRequest>();
        region.Reply(new CommandRejected(RejectionCode.AggregateAlreadyExists, "exists") { CommandId = string.Empty });

        var rejected = ExpectMsg<CommandRejected>();
        Assert.Equal(RejectionCode.AggregateAlreadyExists, rejected.Code);
        Assert.Equal("cmd-fast", rejected.CommandId);
        ExpectNoMsg(CommandTimeout + TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_reject_before_routing_without_bothering_the_region()
    {
        var (mediator, region, _) = StartMediator();

        mediator.Tell(new ShipOrder("o-1"), TestActor);
        mediator.Tell(new PlaceOrder(" ", "c-1", "sku-1", 1, 1m), TestActor);

        Assert.Equal(RejectionCode.UnknownCommand, ExpectMsg<CommandRejected>().Code);
        Assert.Equal(RejectionCode.InvalidAggregateId, ExpectMsg<CommandRejected>().Code);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}
