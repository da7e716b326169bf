using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;

namespace ActorEvents.TestKit;

/// <summary>
/// Given/when/then for pure aggregates, no infrastructure:
/// <c>AggregateScenario.For(new OrderAggregate()).Given(events...).When(command).Then(events...)</c> or
/// <c>.ThenRejected(code)</c>. <see cref="AggregateScenario{TState,TCommand,TEvent}.When"/> runs the runtime's steps in
/// the runtime's order: the validation hook, the existence expectation (the aggregate exists when it has history), then
/// Decide (an exception from Decide is a <see cref="RejectionCode.DomainRuleViolation"/>, as in the runtime).
/// </summary>
public static class AggregateScenario
{
    /// <summary>A scenario of <paramref name="aggregate"/> with no history.</summary>
    public static AggregateScenario<TState, TCommand, TEvent> For<TState, TCommand, TEvent>(Aggregate<TState, TCommand, TEvent> aggregate)
        where TState : class
        where TCommand : ICommand
        where TEvent : IEvent =>
        new(aggregate, []);
}

/// <summary>An aggregate with a history, to run a command against.</summary>
/// <typeparam name="TState">The state record.</typeparam>
/// <typeparam name="TCommand">The command family.</typeparam>
/// <typeparam name="TEvent">The event family.</typeparam>
public sealed class AggregateScenario<TState, TCommand, TEvent>
    where TState : class
    where TCommand : ICommand
    where TEvent : IEvent
{
    private readonly Aggregate<TState, TCommand, TEvent> _aggregate;
    private readonly IReadOnlyList<TEvent> _history;

    internal AggregateScenario(Aggregate<TState, TCommand, TEvent> aggregate, IReadOnlyList<TEvent> history)
    {
        _aggregate = aggregate;
        _history = history;
    }

    /// <summary>The aggregate's past events (added to those given before).</summary>
    public AggregateScenario<TState, TCommand, TEvent> Given(params TEvent[] history) => new(_aggregate, [.. _history, .. history]);

    /// <summary>The state after the history.</summary>
    public TState State => _history.Aggregate(_aggregate.InitialState, _aggregate.Apply);

    /// <summary>Runs a command against the history.</summary>
    public AggregateOutcome<TState, TEvent> When(TCommand command)
    {
        var state = State;
        if (_aggregate.Validate(command) is { } validationError)
        {
            return new AggregateOutcome<TState, TEvent>(state, [], RejectionCode.ValidationFailed, validationError, _aggregate.Apply);
        }

        // The entity's own rules: the existence expectation, then Decide.
        var (decision, _) = AggregateRules.Decide(_aggregate, command.AggregateId, state!, exists: _history.Count > 0, command);
        return new AggregateOutcome<TState, TEvent>(state, [.. decision.Events.Cast<TEvent>()], decision.RejectionCode, decision.Reason, _aggregate.Apply);
    }
}

/// <summary>The outcome of one command in an aggregate scenario, with its assertions.</summary>
/// <typeparam name="TState">The state record.</typeparam>
/// <typeparam name="TEvent">The event family.</typeparam>
public sealed class AggregateOutcome<TState, TEvent>
    where TState : class
    where TEvent : IEvent
{
    private readonly TState _before;
    private readonly Func<TState, TEvent, TState> _apply;

    internal AggregateOutcome(TState before, IReadOnlyList<TEvent> events, RejectionCode? code, string? reason, Func<TState, TEvent, TState> apply)
    {
        _before = before;
        Events = events;
        Code = code;
        Reason = reason;
        _apply = apply;
    }

    /// <summary>The decided events.</summary>
    public IReadOnlyList<TEvent> Events { get; }

    /// <summary>The rejection code, if rejected.</summary>
    public RejectionCode? Code { get; }

    /// <summary>The rejection reason, if rejected.</summary>
    public string? Reason { get; }

    /// <summary>The state after applying the decided events.</summary>
    public TState State => Events.Aggregate(_before, _apply);

    /// <summary>Expects the command accepted with exactly these events, in order.</summary>
    public AggregateOutcome<TState, TEvent> Then(params TEvent[] expected)
    {
        if (Code is not null)
        {
            throw new ScenarioAssertionException($"Expected acceptance, but the command was rejected with {Code}: {Reason}");
        }

        if (!Events.SequenceEqual(expected))
        {
            throw new ScenarioAssertionException($"Expected the events [{string.Join(", ", expected)}], but the command decided [{string.Join(", ", Events)}].");
        }

        return this;
    }

    /// <summary>Expects the command rejected with <paramref name="code"/> (and, optionally, a reason containing a text).</summary>
    public AggregateOutcome<TState, TEvent> ThenRejected(RejectionCode code, string? reasonContains = null)
    {
        if (Code is null)
        {
            throw new ScenarioAssertionException($"Expected rejection {code}, but the command was accepted with [{string.Join(", ", Events)}].");
        }

        if (Code != code)
        {
            throw new ScenarioAssertionException($"Expected rejection {code}, but the command was rejected with {Code}: {Reason}");
        }

        if (reasonContains is not null && Reason?.Contains(reasonContains, StringComparison.OrdinalIgnoreCase) != true)
        {
            throw new ScenarioAssertionException($"Expected the reason to contain '{reasonContains}', but it was '{Reason}'.");
        }

        return this;
    }

    /// <summary>Expects the state after the decided events.</summary>
    public AggregateOutcome<TState, TEvent> ThenState(TState expected)
    {
        if (!Equals(State, expected))
        {
            throw new ScenarioAssertionException($"Expected the state {expected}, but it is {State}.");
        }

        return this;
    }
}
