using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;
using Akka.Serialization;

namespace ActorEvents.Actors.Mediator;

/// <summary>Where the commands of one aggregate type go.</summary>
/// <param name="Definition">The aggregate.</param>
/// <param name="Region">Its shard region.</param>
public sealed record AggregateRoute(IAggregateDefinition Definition, IActorRef Region);

/// <summary>
/// One per node. Takes commands (bare <see cref="ICommand"/> or <see cref="SubmitCommand"/>), checks them,
/// routes each to its aggregate's shard region and relays exactly one <see cref="CommandResult"/> to the
/// caller. It never waits on an aggregate itself, so unrelated commands never queue behind each other.
/// </summary>
public sealed class CommandMediator : ReceiveActor
{
    private readonly IReadOnlyDictionary<Type, AggregateRoute> _routes;
    private readonly MediatorOptions _options;
    private readonly Serializer _serializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Creates the mediator.</summary>
    public CommandMediator(IReadOnlyDictionary<Type, AggregateRoute> routes, MediatorOptions options)
    {
        _routes = routes;
        _options = options;
        _serializer = Context.System.Serialization.FindSerializerForType(typeof(ICommand));

        Receive<SubmitCommand>(submit => Route(submit.Command, submit.Metadata));
        Receive<ICommand>(command => Route(command, CommandMetadata.None));
    }

    /// <summary>Props of the mediator.</summary>
    public static Props Props(IReadOnlyDictionary<Type, AggregateRoute> routes, MediatorOptions options) =>
        Akka.Actor.Props.Create(() => new CommandMediator(routes, options));

    private void Route(ICommand? command, CommandMetadata? metadata)
    {
        metadata ??= CommandMetadata.None;
        var commandId = string.IsNullOrWhiteSpace(metadata.CommandId) ? Guid.CreateVersion7().ToString("N") : metadata.CommandId;
        var check = CommandChecks.Check(command, _routes, _options, _serializer);
        if (check.Rejection is { } rejection)
        {
            Sender.Tell(rejection with { CommandId = commandId });
            return;
        }

        var request = new AggregateRequest(command!, commandId, metadata.CorrelationId ?? commandId, metadata.OriginStream);
        var replyTo = Sender;
        check.Route!.Region.Ask<CommandResult>(request, _options.CommandTimeout).ContinueWith(
            task => task.IsCompletedSuccessfully
                ? task.Result with { CommandId = commandId }
                : new CommandRejected(RejectionCode.Timeout,
                    $"No answer from {check.Route.Definition.Name} '{command!.AggregateId}' within {_options.CommandTimeout.TotalSeconds:0.###}s. It may or may not have been applied: retry with the same command id.")
                    { CommandId = commandId },
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(replyTo);
    }
}

/// <summary>The checks a command passes before it is routed; pure, so the rejection matrix is testable on its own.</summary>
public static class CommandChecks
{
    /// <summary>Result of the checks: either a route or a rejection (with an empty command id, filled in by the caller).</summary>
    /// <param name="Route">Where to send the command.</param>
    /// <param name="Rejection">Why it is refused.</param>
    public readonly record struct Outcome(AggregateRoute? Route, CommandRejected? Rejection);

    /// <summary>Runs every check, in order: type, aggregate id, validation hook, serialized size.</summary>
    public static Outcome Check(ICommand? command, IReadOnlyDictionary<Type, AggregateRoute> routes, MediatorOptions options, Serializer serializer)
    {
        if (command is null)
        {
            return Reject(RejectionCode.UnknownCommand, "The command is null.");
        }

        if (!routes.TryGetValue(command.GetType(), out var route))
        {
            return Reject(RejectionCode.UnknownCommand, $"No aggregate handles commands of type '{command.GetType().Name}'.");
        }

        var id = command.AggregateId;
        if (string.IsNullOrWhiteSpace(id))
        {
            return Reject(RejectionCode.InvalidAggregateId, "The aggregate id is empty.");
        }

        if (id.Length > options.MaxAggregateIdLength)
        {
            return Reject(RejectionCode.InvalidAggregateId, $"The aggregate id is {id.Length} characters long; at most {options.MaxAggregateIdLength} are allowed.");
        }

        if (id.Any(char.IsControl))
        {
            return Reject(RejectionCode.InvalidAggregateId, "The aggregate id contains control characters.");
        }

        string? validationError;
        try
        {
            validationError = route.Definition.Validate(command);
        }
        catch (Exception e)
        {
            validationError = $"the validation hook threw {e.GetType().Name}: {e.Message}";
        }

        if (validationError is not null)
        {
            return Reject(RejectionCode.ValidationFailed, $"{command.GetType().Name} is invalid: {validationError}");
        }

        int size;
        try
        {
            size = serializer.ToBinary(command).Length;
        }
        catch (Exception e)
        {
            return Reject(RejectionCode.UnregisteredType, $"{command.GetType().Name} cannot be serialized: {e.Message}");
        }

        if (size > options.MaxCommandBytes)
        {
            return Reject(RejectionCode.PayloadTooLarge, $"{command.GetType().Name} is {size} bytes serialized; at most {options.MaxCommandBytes} are allowed.");
        }

        return new Outcome(route, null);
    }

    private static Outcome Reject(RejectionCode code, string message) => new(null, new CommandRejected(code, message) { CommandId = string.Empty });
}
