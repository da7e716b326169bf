using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Fixture;

// The framework tests' users: created once, never changed (a stream of one event).

[MessageName("user.create")]
public sealed record CreateUser(string UserId, string Email, string Name) : ICommand
{
    string ICommand.AggregateId => UserId;
}

[MessageName("user.created")]
public sealed record UserCreated(string UserId, string Email, string Name) : IEvent;

/// <summary>A user's registration.</summary>
public sealed record UserRegistration(string Email);

/// <summary>Creates a user; a second create is refused by the runtime (the stream must not exist).</summary>
public sealed class UserAggregate : Aggregate<UserRegistration, CreateUser, UserCreated>
{
    public override string Name => "user";

    public override UserRegistration InitialState { get; } = new("");

    public override CommandExpectation Expect(CreateUser command) => CommandExpectation.MustNotExist;

    public override string? Validate(CreateUser command) => command.Email.Contains('@', StringComparison.Ordinal) ? null : "e-mail address is not valid";

    public override Decision<UserCreated> Decide(UserRegistration state, CreateUser command) =>
        Decision<UserCreated>.Accept(new UserCreated(command.UserId, command.Email, command.Name));

    public override UserRegistration Apply(UserRegistration state, UserCreated @event) => new(@event.Email);
}
