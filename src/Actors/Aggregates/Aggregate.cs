using ActorEvents.Messages;

namespace ActorEvents.Actors.Aggregates;

/// <summary>What a command expects of its aggregate's existence.</summary>
public enum CommandExpectation
{
    /// <summary>The aggregate must already exist (it has persisted at least one event).</summary>
    MustExist,

    /// <summary>The command creates the aggregate: it must not exist yet.</summary>
    MustNotExist,

    /// <summary>Either way.</summary>
    Any,
}

/// <summary>The outcome of a pure decide function: events to persist, or a rejection.</summary>
/// <typeparam name="TEvent">The aggregate's event base type.</typeparam>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1000", Justification = "Decision<TEvent>.Accept(...) / Reject(...) is the user API; the type argument is the aggregate's event type.")]
public sealed record Decision<TEvent> where TEvent : IEvent
{
    private Decision(IReadOnlyList<TEvent> events, RejectionCode? code, string? reason)
    {
        Events = events;
        RejectionCode = code;
        Reason = reason;
    }

    /// <summary>Events to persist atomically, in order (empty for a rejection or a no-op).</summary>
    public IReadOnlyList<TEvent> Events { get; }

    /// <summary>Set when the command is rejected.</summary>
    public RejectionCode? RejectionCode { get; }

    /// <summary>Why the command was rejected.</summary>
    public string? Reason { get; }

    /// <summary>True when the command was rejected.</summary>
    public bool IsRejected => RejectionCode is not null;

    /// <summary>Accept the command with these events.</summary>
    public static Decision<TEvent> Accept(params TEvent[] events) => new(events, null, null);

    /// <summary>Reject the command because it breaks a domain rule.</summary>
    public static Decision<TEvent> Reject(string reason) => new([], Messages.RejectionCode.DomainRuleViolation, reason);

    /// <summary>Reject the command with a specific code.</summary>
    public static Decision<TEvent> Reject(RejectionCode code, string reason) => new([], code, reason);
}

/// <summary>
/// Base class for a user's aggregate: an immutable state record plus pure <see cref="Decide"/> and
/// <see cref="Apply"/> functions. The runtime owns the persistent actor, snapshots, passivation and
/// supervision; an aggregate class holds no mutable state and can be tested without any infrastructure.
/// </summary>
/// <typeparam name="TState">Immutable state record.</typeparam>
/// <typeparam name="TCommand">Base type of the aggregate's commands.</typeparam>
/// <typeparam name="TEvent">Base type of the aggregate's events.</typeparam>
public abstract class Aggregate<TState, TCommand, TEvent> : IAggregateDefinition
    where TState : class
    where TCommand : ICommand
    where TEvent : IEvent
{
    /// <summary>Stable name of the aggregate type: used in stream names, persistence ids, tags and as the shard region name.</summary>
    public abstract string Name { get; }

    /// <summary>State of an aggregate that has no events yet.</summary>
    public abstract TState InitialState { get; }

    /// <summary>Pure: decides what a command does to the current state.</summary>
    public abstract Decision<TEvent> Decide(TState state, TCommand command);

    /// <summary>Pure: the state after an event.</summary>
    public abstract TState Apply(TState state, TEvent @event);

    /// <summary>
    /// Version of the state's shape in snapshots (default 1). Raise it when <typeparamref name="TState"/> changes so that
    /// older snapshots no longer fit: they are then passed over, and the state is rebuilt from the events (and snapshotted anew).
    /// </summary>
    public virtual int StateVersion => 1;

    /// <summary>What a command expects of the aggregate's existence. Default: it must exist.</summary>
    public virtual CommandExpectation Expect(TCommand command) => CommandExpectation.MustExist;

    /// <summary>Validation hook run by the mediator before routing: return an error message, or null when valid.</summary>
    public virtual string? Validate(TCommand command) => null;

    /// <summary>
    /// The concrete command and event types of this aggregate. By default every concrete type in the
    /// assemblies of <typeparamref name="TCommand"/> and <typeparamref name="TEvent"/> that implements them.
    /// </summary>
    public virtual IEnumerable<Type> MessageTypes() =>
        ConcreteTypesAssignableTo(typeof(TCommand)).Concat(ConcreteTypesAssignableTo(typeof(TEvent)));

    Type IAggregateDefinition.StateType => typeof(TState);
    Type IAggregateDefinition.CommandType => typeof(TCommand);
    Type IAggregateDefinition.EventType => typeof(TEvent);
    object IAggregateDefinition.InitialState => InitialState;

    AggregateDecision IAggregateDefinition.Decide(object state, ICommand command)
    {
        var decision = Decide((TState)state, (TCommand)command);
        return decision.IsRejected
            ? AggregateDecision.Rejected(decision.RejectionCode!.Value, decision.Reason ?? "rejected")
            : AggregateDecision.Accepted(decision.Events.Cast<IEvent>().ToArray());
    }

    object IAggregateDefinition.Apply(object state, IEvent @event) => Apply((TState)state, (TEvent)@event);

    CommandExpectation IAggregateDefinition.Expect(ICommand command) => Expect((TCommand)command);

    string? IAggregateDefinition.Validate(ICommand command) => Validate((TCommand)command);

    private static IEnumerable<Type> ConcreteTypesAssignableTo(Type baseType) =>
        baseType.Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false } && baseType.IsAssignableFrom(t));
}

/// <summary>The untyped view of an aggregate that the runtime works with.</summary>
public interface IAggregateDefinition
{
    /// <summary>Stable aggregate type name.</summary>
    string Name { get; }

    /// <summary>CLR type of the state record.</summary>
    Type StateType { get; }

    /// <summary>Base type of the commands.</summary>
    Type CommandType { get; }

    /// <summary>Base type of the events.</summary>
    Type EventType { get; }

    /// <summary>Initial state.</summary>
    object InitialState { get; }

    /// <summary>Version of the state's shape in snapshots: a snapshot of another version is rebuilt from the events.</summary>
    int StateVersion => 1;

    /// <summary>Decides a command.</summary>
    AggregateDecision Decide(object state, ICommand command);

    /// <summary>Applies an event.</summary>
    object Apply(object state, IEvent @event);

    /// <summary>Existence expectation of a command.</summary>
    CommandExpectation Expect(ICommand command);

    /// <summary>Validation hook.</summary>
    string? Validate(ICommand command);

    /// <summary>Concrete command and event types to register.</summary>
    IEnumerable<Type> MessageTypes();
}

/// <summary>Untyped decision.</summary>
/// <param name="Events">Events to persist.</param>
/// <param name="RejectionCode">Set on rejection.</param>
/// <param name="Reason">Rejection reason.</param>
public sealed record AggregateDecision(IReadOnlyList<IEvent> Events, RejectionCode? RejectionCode, string? Reason)
{
    /// <summary>An accepting decision.</summary>
    public static AggregateDecision Accepted(IReadOnlyList<IEvent> events) => new(events, null, null);

    /// <summary>A rejecting decision.</summary>
    public static AggregateDecision Rejected(RejectionCode code, string reason) => new([], code, reason);
}
