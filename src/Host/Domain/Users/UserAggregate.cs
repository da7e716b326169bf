using ActorEvents.Actors.Aggregates;

namespace ActorEvents.Host.Domain.Users;

/// <summary>Immutable state of one user.</summary>
/// <param name="Email">E-mail address (empty until created).</param>
/// <param name="Name">Display name.</param>
public sealed record UserState(string Email, string Name)
{
    /// <summary>No user.</summary>
    public static UserState Empty { get; } = new(string.Empty, string.Empty);
}

/// <summary>The User aggregate: registration only, enough to show one event with two subscribers.</summary>
public sealed class UserAggregate : Aggregate<UserState, IUserCommand, IUserEvent>
{
    /// <inheritdoc />
    public override string Name => "user";

    /// <inheritdoc />
    public override UserState InitialState => UserState.Empty;

    /// <inheritdoc />
    public override CommandExpectation Expect(IUserCommand command) => CommandExpectation.MustNotExist;

    /// <inheritdoc />
    public override string? Validate(IUserCommand command) => command switch
    {
        CreateUser c when !c.Email.Contains('@', StringComparison.Ordinal) => "e-mail address is not valid",
        _ => null,
    };

    /// <inheritdoc />
    public override Decision<IUserEvent> Decide(UserState state, IUserCommand command) => command switch
    {
        CreateUser c => Decision<IUserEvent>.Accept(new UserCreated(c.UserId, c.Email, c.Name)),
        _ => Decision<IUserEvent>.Reject($"unsupported command {command.GetType().Name}"),
    };

    /// <inheritdoc />
    public override UserState Apply(UserState state, IUserEvent @event) => @event switch
    {
        UserCreated c => new UserState(c.Email, c.Name),
        _ => state,
    };
}
