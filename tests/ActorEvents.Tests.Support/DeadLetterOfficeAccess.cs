using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>A test host's dead-letter office, asked the way an operator's tools ask it (the office's messages).</summary>
public static class DeadLetterOfficeAccess
{
    /// <summary>The node's dead-letter office.</summary>
    public static IActorRef Office(this ActorEventsTestHost host) => host.Registry.Get<DeadLetterOffice>();

    /// <summary>Asks the dead-letter office and asserts the type of the reply.</summary>
    public static async Task<T> AskOfficeAsync<T>(this ActorEventsTestHost host, object message, TimeSpan? timeout = null)
    {
        var reply = await host.Office().Ask<object>(message, timeout ?? TimeSpan.FromSeconds(15));
        return reply is T typed ? typed : throw new Xunit.Sdk.XunitException($"Expected {typeof(T).Name} for {message}, got {reply}.");
    }

    public static async Task<IReadOnlyList<DeadLetter>> ListAsync(this ActorEventsTestHost host, DeadLetterFilter? filter = null) =>
        (await host.AskOfficeAsync<DeadLetterList>(new ListDeadLetters(filter ?? new DeadLetterFilter()))).Entries;
}
