using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using Akka.Actor;
using AkkaDeadLetter = Akka.Event.DeadLetter;
using Akka.Serialization;

namespace ActorEvents.Actors.Mediator;

/// <summary>Where the commands of one aggregate type go.</summary>
/// <param name="Definition">The aggregate.</param>
/// <param name="Region">Its shard region.</param>
internal sealed record AggregateRoute(IAggregateDefinition Definition, IActorRef Region);

/// <summary>What the mediator needs besides its routes.</summary>
/// <param name="Mediator">Mediator limits.</param>
/// <param name="Pipeline">Pipeline limits and the default reply mode.</param>
/// <param name="RequestPool">This node's request pool, whose <see cref="PipelinePressure"/> refuses commands of the request pipeline.</param>
/// <param name="StreamingPool">This node's streaming pool, likewise for streaming commands.</param>
/// <param name="Queries">Where <see cref="RunQuery"/> goes (null: queries are refused as unknown).</param>
internal sealed record CommandMediatorSettings(MediatorOptions Mediator, PipelineOptions Pipeline, IActorRef RequestPool, IActorRef StreamingPool, IActorRef? Queries = null);

/// <summary>
/// One per node. Takes commands (bare <see cref="ICommand"/> or <see cref="SubmitCommand"/>), checks them and routes
/// each to its aggregate's shard region; the answer comes back to the caller in one direction: from the aggregate
/// (rejections, duplicates, <see cref="ReplyMode.AfterPersist"/>) or from the event pipeline of the aggregate's node
/// once the handlers finished (<see cref="ReplyMode.AfterHandlers"/>). The mediator keeps no state per command: each
/// command's ask to its region ends in the caller's answer — the result, or <see cref="RejectionCode.Timeout"/> when
/// nothing came within <see cref="MediatorOptions.CommandTimeout"/>. It refuses commands as
/// <see cref="RejectionCode.Overloaded"/> while its node's pool says it is (<see cref="PipelinePressure"/>). Queries
/// (<see cref="RunQuery"/>) are handed on to the node's query dispatcher, which answers the caller directly.
/// </summary>
public sealed class CommandMediator : ReceiveActor
{
    private readonly IReadOnlyDictionary<Type, AggregateRoute> _routes;
    private readonly CommandMediatorSettings _settings;
    private readonly Serializer _serializer;
    private readonly TimeSpan _handlersMargin;
    private PipelinePressure? _requestPressure;
    private PipelinePressure? _streamingPressure;

    /// <summary>Creates the mediator.</summary>
    internal CommandMediator(IReadOnlyDictionary<Type, AggregateRoute> routes, CommandMediatorSettings settings)
    {
        _routes = routes;
        _settings = settings;
        _serializer = Context.System.Serialization.FindSerializerForType(typeof(ICommand));

        // The pipeline answers before the caller's time is up, so that the answer says the events were persisted.
        var timeout = settings.Mediator.CommandTimeout;
        _handlersMargin = TimeSpan.FromTicks(Math.Min(timeout.Ticks / 10, TimeSpan.FromSeconds(1).Ticks));

        Receive<SubmitCommand>(submit => Route(submit.Command, submit.Metadata, PipelineKind.Request));
        Receive<RouteCommand>(route => Route(route.Command, route.Metadata, route.Pipeline));
        Receive<PipelinePressure>(Pressure);
        Receive<AkkaDeadLetter>(dead => dead.Message is AggregateRequest, AnswerUndelivered);
        Receive<RunQuery>(query =>
        {
            if (_settings.Queries is { } queries)
            {
                queries.Forward(query);
            }
            else
            {
                Sender.Tell(new QueryReply(null, new QueryError(QueryErrorCode.UnknownQuery, $"This mediator runs no queries ('{query.Query?.GetType().Name}').")));
            }
        });
        Receive<ICommand>(command => Route(command, CommandMetadata.None, PipelineKind.Request));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        // A command that ends in dead letters on this node (an entity stopping with it in its mailbox or stash,
        // a region that is gone) is answered at once instead of leaving its caller to time out.
        Context.System.EventStream.Subscribe(Self, typeof(AkkaDeadLetter));
        Context.System.EventStream.Subscribe(Self, typeof(PipelinePressure));
    }

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>Props of the mediator.</summary>
    internal static Props Props(IReadOnlyDictionary<Type, AggregateRoute> routes, CommandMediatorSettings settings) =>
        FactoryProducer<CommandMediator>.Props(() => new CommandMediator(routes, settings));

    private void Pressure(PipelinePressure pressure)
    {
        var current = pressure.Overloaded ? pressure : null;
        if (pressure.Pool.Equals(_settings.RequestPool))
        {
            _requestPressure = current;
        }
        else if (pressure.Pool.Equals(_settings.StreamingPool))
        {
            _streamingPressure = current;
        }
    }

    private void Route(ICommand? command, CommandMetadata? metadata, PipelineKind pipeline)
    {
        metadata ??= CommandMetadata.None;
        var commandId = string.IsNullOrWhiteSpace(metadata.CommandId) ? Guid.CreateVersion7().ToString("N") : metadata.CommandId;
        var trace = CommandTrace.Start(command, metadata, commandId);
        var check = CommandChecks.Check(command, _routes, _settings.Mediator, _serializer);
        if (check.Rejection is { } rejection)
        {
            Answer(Sender, trace, rejection with { CommandId = commandId });
            return;
        }

        if ((pipeline == PipelineKind.Streaming ? _streamingPressure : _requestPressure) is { } pressure)
        {
            Answer(Sender, trace, new CommandRejected(RejectionCode.Overloaded,
                $"The event pipeline has {pressure.Queued} or more work items waiting (limit {pressure.Limit}); retry later.") { CommandId = commandId });
            return;
        }

        var route = check.Route!;
        var timeout = _settings.Mediator.CommandTimeout;
        var awaitHandlers = (metadata.ReplyMode ?? _settings.Pipeline.ReplyMode) == ReplyMode.AfterHandlers;
        var request = new AggregateRequest(command!, commandId, metadata.CorrelationId ?? commandId, metadata.OriginStream)
        {
            TraceParent = trace.TraceParent,
            Pipeline = pipeline,
            AwaitHandlers = awaitHandlers,
            HandlersDeadline = awaitHandlers ? DateTimeOffset.UtcNow + timeout - _handlersMargin : null,
        };
        var caller = Sender;
        var aggregateType = route.Definition.Name;
        route.Region.Ask<CommandResult>(request, timeout).ContinueWith(
            task => Answer(caller, trace, task.IsCompletedSuccessfully
                ? task.Result with { CommandId = commandId }
                : new CommandRejected(RejectionCode.Timeout,
                    $"No answer from {aggregateType} '{request.AggregateId}' within {timeout.TotalSeconds:0.###}s. It may or may not have been applied: retry with the same command id.")
                    { CommandId = commandId }),
            TaskContinuationOptions.ExecuteSynchronously);
    }

    private static void AnswerUndelivered(AkkaDeadLetter dead)
    {
        var request = (AggregateRequest)dead.Message;
        if (!dead.Sender.IsNobody())
        {
            dead.Sender.Tell(new CommandRejected(RejectionCode.AggregateUnavailable,
                $"The command could not be delivered to {request.Command.GetType().Name} '{request.Command.AggregateId}' (the aggregate stopped or is restarting); nothing was persisted by it. Retry with the same command id.")
                { CommandId = request.CommandId });
        }
    }

    /// <summary>The one place a command is answered: its count, latency and span end with the reply.</summary>
    private static void Answer(IActorRef replyTo, CommandTrace trace, CommandResult result)
    {
        trace.Finish(result);
        replyTo.Tell(result);
    }
}

/// <summary>The checks a command passes before it is routed; pure, so the rejection matrix is testable on its own.</summary>
internal static class CommandChecks
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

        if (AggregateIds.Problem(command.AggregateId, options.MaxAggregateIdLength) is { } problem)
        {
            return Reject(RejectionCode.InvalidAggregateId, problem);
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
