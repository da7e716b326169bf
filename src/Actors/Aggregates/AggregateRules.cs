using ActorEvents.Messages;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// The aggregate's own part of a command, pure: its existence expectation, then Decide — an exception from Decide is a
/// <see cref="RejectionCode.DomainRuleViolation"/>. The entity runs it on its state; the TestKit's aggregate scenario runs
/// the same on a history, so a scenario decides as the runtime does.
/// </summary>
internal static class AggregateRules
{
    /// <summary>The decision on <paramref name="command"/>, and the exception when Decide threw.</summary>
    public static (AggregateDecision Decision, Exception? DecideError) Decide(
        IAggregateDefinition definition, string aggregateId, object state, bool exists, ICommand command)
    {
        switch (definition.Expect(command))
        {
            case CommandExpectation.MustExist when !exists:
                return (AggregateDecision.Rejected(RejectionCode.AggregateNotFound, $"{definition.Name} '{aggregateId}' does not exist."), null);
            case CommandExpectation.MustNotExist when exists:
                return (AggregateDecision.Rejected(RejectionCode.AggregateAlreadyExists, $"{definition.Name} '{aggregateId}' already exists."), null);
        }

        try
        {
            return (definition.Decide(state, command), null);
        }
        catch (Exception e)
        {
            return (AggregateDecision.Rejected(RejectionCode.DomainRuleViolation, $"Decide failed: {e.GetType().Name}: {e.Message}"), e);
        }
    }
}
