using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Users;

/// <summary>Marker of every command the User aggregate handles.</summary>
public interface IUserCommand : ICommand
{
    /// <summary>The user id.</summary>
    string UserId { get; }

    string ICommand.AggregateId => UserId;
}

/// <summary>Register a new user.</summary>
/// <param name="UserId">New user id.</param>
/// <param name="Email">E-mail address.</param>
/// <param name="Name">Display name.</param>
[MessageName("user.create")]
public sealed record CreateUser(string UserId, string Email, string Name) : IUserCommand;

/// <summary>Marker of every event of the User aggregate.</summary>
public interface IUserEvent : IEvent;

/// <summary>A user was registered.</summary>
/// <param name="UserId">User id.</param>
/// <param name="Email">E-mail address.</param>
/// <param name="Name">Display name.</param>
[MessageName("user.created")]
public sealed record UserCreated(string UserId, string Email, string Name) : IUserEvent;
