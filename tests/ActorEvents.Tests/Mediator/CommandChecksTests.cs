using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;

namespace ActorEvents.Tests.Mediator;

/// <summary>The pure pre-routing checks, without any actor in the loop.</summary>
public sealed class CommandChecksTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ActorEventsDomain Domain = new ActorEventsDomainBuilder().AddFixtureDomain().Build();
    private static readonly MediatorOptions Options = new() { MaxAggregateIdLength = 10, MaxCommandBytes = 200 };

    private readonly Dictionary<Type, AggregateRoute> _routes;
    private readonly ActorEventsSerializer _serializer;

    public CommandChecksTests()
        : base("akka.loglevel = WARNING")
    {
        _serializer = RuntimeWireFormats.Serializer((ExtendedActorSystem)Sys, Domain.Types);
        _routes = Domain.CommandOwners.ToDictionary(o => o.Key, o => new AggregateRoute(o.Value.Definition, ActorRefs.Nobody));
        _routes[typeof(UnnamedOrderCommand)] = new AggregateRoute(new HyphenatedAggregate(), ActorRefs.Nobody);
        _routes[typeof(GuardedCommand)] = new AggregateRoute(new ThrowingValidationAggregate(), ActorRefs.Nobody);
    }

    private CommandChecks.Outcome Check(ICommand? command) => CommandChecks.Check(command, _routes, Options, _serializer);

    private void AssertRejected(ICommand? command, RejectionCode code)
    {
        var outcome = Check(command);

        Assert.Null(outcome.Route);
        var rejection = Assert.IsType<CommandRejected>(outcome.Rejection);
        Assert.Equal(code, rejection.Code);
        Assert.Equal(string.Empty, rejection.CommandId);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
    }

    [Fact]
    public void Should_route_a_valid_command_to_its_aggregate()
    {
        var outcome = Check(new ReduceStock("sku-1", 2, "o-1"));

        Assert.Null(outcome.Rejection);
        Assert.Equal("inventory", outcome.Route!.Definition.Name);
        Assert.Equal("order", Check(new PlaceOrder("o-1", "c", "s", 1, 1m)).Route!.Definition.Name);
    }

    [Fact]
    public void Should_reject_a_null_command_as_unknown()
    {
        AssertRejected(null, RejectionCode.UnknownCommand);
    }

    [Fact]
    public void Should_reject_a_command_type_without_a_route_as_unknown()
    {
        AssertRejected(new UnroutedCommand("x"), RejectionCode.UnknownCommand);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t \r\n")]
    [InlineData("01234567890")]
    [InlineData("a\u0000b")]
    [InlineData("a\u007fb")]
    [InlineData("a\uD800b")] // lone high surrogate: UTF-8 encodes it as U+FFFD, like the next one
    [InlineData("a\uDC00b")] // lone low surrogate
    [InlineData("ab\uD83D")] // high surrogate at the end
    [InlineData("a\uFFFDb")] // replacement character
    [InlineData("a\u200Bb")] // zero-width space
    [InlineData("a\u200Db")] // zero-width joiner
    [InlineData("a\u202Eb")] // right-to-left override
    [InlineData("a\u2066b")] // left-to-right isolate
    [InlineData("a\uFEFFb")] // zero-width no-break space
    [InlineData(" ab")]
    [InlineData("ab ")]
    [InlineData("ab\u00A0")] // trailing no-break space
    public void Should_reject_an_invalid_aggregate_id(string id)
    {
        AssertRejected(new AddStock(id, 1), RejectionCode.InvalidAggregateId);
    }

    [Theory]
    [InlineData("0123456789")]
    [InlineData("a")]
    [InlineData("ünïcødé-ok")]
    [InlineData("a\uD83D\uDE00b")] // a well-formed surrogate pair (an emoji)
    [InlineData("a b")]
    public void Should_accept_an_aggregate_id_up_to_the_maximum_length(string id)
    {
        Assert.Null(Check(new AddStock(id, 1)).Rejection);
    }

    [Fact]
    public void Should_refuse_both_ids_whose_lone_surrogates_encode_to_the_same_bytes()
    {
        var (first, second) = ("a\uD800b", "a\uDC00b");
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(first), System.Text.Encoding.UTF8.GetBytes(second)); // why they must be refused
        Assert.Contains("lone surrogate", AggregateIds.Problem(first, 100));
        Assert.Contains("lone surrogate", AggregateIds.Problem(second, 100));
    }

    [Theory]
    [InlineData("a-b")]
    [InlineData("order-line")]
    [InlineData("")]
    [InlineData("ordér")]
    [InlineData("a b")]
    public void Should_refuse_an_aggregate_name_that_could_share_a_stream_with_another(string name)
    {
        Assert.NotNull(AggregateIds.NameProblem(name));
    }

    [Fact]
    public void Should_refuse_at_registration_an_aggregate_whose_name_holds_the_stream_separator()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ActorEventsDomainBuilder().AddAggregate<HyphenatedAggregate>());
        Assert.Contains("'-' separates", error.Message);
        Assert.Null(AggregateIds.NameProblem("inventory"));
        Assert.Null(AggregateIds.NameProblem("billing.invoice_v2"));
    }

    [Fact]
    public void Should_reject_a_payload_refused_by_the_validation_hook()
    {
        var outcome = Check(new PlaceOrder("o-1", "c", "s", 0, 1m));

        Assert.Equal(RejectionCode.ValidationFailed, outcome.Rejection!.Code);
        Assert.Contains("quantity must be positive", outcome.Rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_reject_as_validation_failure_when_the_validation_hook_throws()
    {
        var outcome = Check(new GuardedCommand("g-1"));

        Assert.Equal(RejectionCode.ValidationFailed, outcome.Rejection!.Code);
        Assert.Contains("threw FormatException", outcome.Rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_reject_a_command_whose_type_is_not_registered_for_serialization()
    {
        AssertRejected(new UnnamedOrderCommand("o-1"), RejectionCode.UnregisteredType);
    }

    [Fact]
    public void Should_reject_a_command_over_the_maximum_serialized_size()
    {
        var size = _serializer.ToBinary(new CancelOrder("o-1", new string('r', 250))).Length;
        Assert.True(size > Options.MaxCommandBytes, $"test payload is only {size} bytes");

        AssertRejected(new CancelOrder("o-1", new string('r', 250)), RejectionCode.PayloadTooLarge);
        Assert.Null(Check(new CancelOrder("o-1", new string('r', 20))).Rejection);
    }

    [Fact]
    public void Should_run_the_checks_in_order_type_then_id_then_validation_then_size()
    {
        AssertRejected(new UnroutedCommand(""), RejectionCode.UnknownCommand);
        AssertRejected(new PlaceOrder("", "c", "s", 0, 1m), RejectionCode.InvalidAggregateId);
        AssertRejected(new PlaceOrder("o-1", new string('c', 500), "s", 0, 1m), RejectionCode.ValidationFailed);
    }
}

/// <summary>An order command without a stable name: routable, but not serializable.</summary>
/// <remarks>
/// A guarded command, not an order command: an aggregate takes every type of its command interface in that interface's
/// assembly as its own, and the fixture's order aggregate lives in this assembly.
/// </remarks>
public sealed record UnnamedOrderCommand(string Id) : IGuardedCommand;

public interface IGuardedCommand : ICommand
{
    string Id { get; }

    string ICommand.AggregateId => Id;
}

[MessageName("test.guarded")]
public sealed record GuardedCommand(string Id) : IGuardedCommand;

public interface IGuardedEvent : IEvent;

public sealed record GuardedState;

/// <summary>An aggregate whose validation hook throws.</summary>
public sealed class ThrowingValidationAggregate : Aggregate<GuardedState, IGuardedCommand, IGuardedEvent>
{
    public override string Name => "guarded";

    public override GuardedState InitialState => new();

    public override string? Validate(IGuardedCommand command) => throw new FormatException("unparseable");

    public override Decision<IGuardedEvent> Decide(GuardedState state, IGuardedCommand command) => Decision<IGuardedEvent>.Reject("never");

    public override GuardedState Apply(GuardedState state, IGuardedEvent @event) => state;
}

/// <summary>An aggregate whose name holds the stream separator.</summary>
public sealed class HyphenatedAggregate : Aggregate<GuardedState, IGuardedCommand, IGuardedEvent>
{
    public override string Name => "order-line";

    public override GuardedState InitialState => new();

    public override Decision<IGuardedEvent> Decide(GuardedState state, IGuardedCommand command) => Decision<IGuardedEvent>.Reject("never");

    public override GuardedState Apply(GuardedState state, IGuardedEvent @event) => state;
}
