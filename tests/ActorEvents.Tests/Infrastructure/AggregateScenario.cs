using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// Given/when/then for pure aggregates, no infrastructure:
/// <c>Scenario.For(new OrderAggregate()).Given(events...).When(command).Then(events...)</c> or <c>.ThenRejected(code)</c>.
/// <see cref="AggregateScenario{TState,TCommand,TEvent}.When"/> runs the same steps as the runtime, in the same
/// order: the validation hook, the existence expectation (the aggregate exists when it has history), then Decide.
/// </summary>
public static class Scenario
{
    public static AggregateScenario<TState, TCommand, TEvent> For<TState, TCommand, TEvent>(Aggregate<TState, TCommand, TEvent> aggregate)
        where TState : class
        where TCommand : ICommand
        where TEvent : IEvent =>
        new(aggregate, []);
}

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

    /// <summary>The aggregate's past events.</summary>
    public AggregateScenario<TState, TCommand, TEvent> Given(params TEvent[] history) => new(_aggregate, [.. _history, .. history]);

    /// <summary>The state after the history.</summary>
    public TState State => _history.Aggregate(_aggregate.InitialState, _aggregate.Apply);

    /// <summary>Runs a command against the history.</summary>
    public ScenarioOutcome<TState, TEvent> When(TCommand command)
    {
        var state = State;
        var validationError = _aggregate.Validate(command);
        if (validationError is not null)
        {
            return new ScenarioOutcome<TState, TEvent>(state, [], RejectionCode.ValidationFailed, validationError, _aggregate.Apply);
        }

        var exists = _history.Count > 0;
        switch (_aggregate.Expect(command))
        {
            case CommandExpectation.MustExist when !exists:
                return new ScenarioOutcome<TState, TEvent>(state, [], RejectionCode.AggregateNotFound, "does not exist", _aggregate.Apply);
            case CommandExpectation.MustNotExist when exists:
                return new ScenarioOutcome<TState, TEvent>(state, [], RejectionCode.AggregateAlreadyExists, "already exists", _aggregate.Apply);
        }

        var decision = _aggregate.Decide(state, command);
        return new ScenarioOutcome<TState, TEvent>(state, decision.Events, decision.RejectionCode, decision.Reason, _aggregate.Apply);
    }
}

/// <summary>The outcome of one command in a scenario, with assertions.</summary>
public sealed class ScenarioOutcome<TState, TEvent>
    where TState : class
    where TEvent : IEvent
{
    private readonly TState _before;
    private readonly Func<TState, TEvent, TState> _apply;

    internal ScenarioOutcome(TState before, IReadOnlyList<TEvent> events, RejectionCode? code, string? reason, Func<TState, TEvent, TState> apply)
    {
        _before = before;
        Events = events;
        Code = code;
        Reason = reason;
        _apply = apply;
    }

    /// <summary>Decided events.</summary>
    public IReadOnlyList<TEvent> Events { get; }

    /// <summary>Rejection code, if rejected.</summary>
    public RejectionCode? Code { get; }

    /// <summary>Rejection reason, if rejected.</summary>
    public string? Reason { get; }

    /// <summary>The state after applying the decided events.</summary>
    public TState State => Events.Aggregate(_before, _apply);

    /// <summary>Asserts the command was accepted with exactly these events, in order.</summary>
    public ScenarioOutcome<TState, TEvent> Then(params TEvent[] expected)
    {
        Assert.True(Code is null, $"Expected acceptance, but the command was rejected with {Code}: {Reason}");
        Assert.Equal(expected, Events);
        return this;
    }

    /// <summary>Asserts the command was rejected with this code (and, optionally, a reason containing a text).</summary>
    public ScenarioOutcome<TState, TEvent> ThenRejected(RejectionCode code, string? reasonContains = null)
    {
        Assert.True(Code is not null, $"Expected rejection {code}, but the command was accepted with [{string.Join(", ", Events)}]");
        Assert.Equal(code, Code);
        Assert.Empty(Events);
        if (reasonContains is not null)
        {
            Assert.Contains(reasonContains, Reason, StringComparison.OrdinalIgnoreCase);
        }

        return this;
    }

    /// <summary>Asserts the state after the decided events.</summary>
    public ScenarioOutcome<TState, TEvent> ThenState(TState expected)
    {
        Assert.Equal(expected, State);
        return this;
    }
}
