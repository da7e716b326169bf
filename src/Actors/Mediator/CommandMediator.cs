using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
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
public sealed record AggregateRoute(IAggregateDefinition Definition, IActorRef Region);

/// <summary>What the mediator needs besides its routes.</summary>
/// <param name="Mediator">Mediator limits.</param>
/// <param name="Pipeline">Pipeline limits and the default reply mode.</param>
/// <param name="Router">The node's event-stream router.</param>
/// <param name="RequestPoolLoad">Load of the request pool (for the overload check).</param>
/// <param name="StreamingPoolLoad">Load of the streaming pool.</param>
/// <param name="Queries">Where <see cref="RunQuery"/> goes (null: queries are refused as unknown).</param>
public sealed record CommandMediatorSettings(
    MediatorOptions Mediator, PipelineOptions Pipeline, IActorRef Router, HandlerPoolLoad RequestPoolLoad, HandlerPoolLoad StreamingPoolLoad,
    IActorRef? Queries = null);

/// <summary>
/// One per node. Takes commands (bare <see cref="ICommand"/> or <see cref="SubmitCommand"/>), checks them,
/// routes each to its aggregate's shard region, has the event-stream router dispatch the persisted events,
/// and relays exactly one <see cref="CommandResult"/> to the caller — after the handlers finished
/// (<see cref="ReplyMode.AfterHandlers"/>) or right after persist (<see cref="ReplyMode.AfterPersist"/>).
/// It never waits on anything itself, so unrelated commands never queue behind each other. Queries
/// (<see cref="RunQuery"/>) are handed on to the node's query dispatcher, which answers the caller directly.
/// </summary>
public sealed class CommandMediator : ReceiveActor, IWithTimers
{
    private readonly IReadOnlyDictionary<Type, AggregateRoute> _routes;
    private readonly CommandMediatorSettings _settings;
    private readonly Serializer _serializer;
    private readonly Dictionary<long, WaitingForHandlers> _waiting = new();
    private long _nextRequestId;

    /// <summary>Creates the mediator.</summary>
    public CommandMediator(IReadOnlyDictionary<Type, AggregateRoute> routes, CommandMediatorSettings settings)
    {
        _routes = routes;
        _settings = settings;
        _serializer = Context.System.Serialization.FindSerializerForType(typeof(ICommand));

        Receive<SubmitCommand>(submit => Route(submit.Command, submit.Metadata, PipelineKind.Request));
        Receive<RouteCommand>(route => Route(route.Command, route.Metadata, route.Pipeline));
        Receive<AggregateReplied>(Replied);
        Receive<DispatchCompleted>(Dispatched);
        Receive<SweepHandlerTimeouts>(_ => SweepTimeouts());
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
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        // A command that ends in dead letters on this node (an entity stopping with it in its mailbox or stash,
        // a region that is gone) is answered at once instead of leaving its caller to time out.
        Context.System.EventStream.Subscribe(Self, typeof(AkkaDeadLetter));
        var sweep = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(10).Ticks, _settings.Mediator.CommandTimeout.Ticks / 10));
        Timers.StartPeriodicTimer("sweep", SweepHandlerTimeouts.Instance, sweep);
    }

    /// <summary>Props of the mediator.</summary>
    public static Props Props(IReadOnlyDictionary<Type, AggregateRoute> routes, CommandMediatorSettings settings) =>
        Akka.Actor.Props.Create(() => new CommandMediator(routes, settings));

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

        var load = pipeline == PipelineKind.Streaming ? _settings.StreamingPoolLoad : _settings.RequestPoolLoad;
        if (load.Queued >= _settings.Pipeline.MaxQueuedWorkItems)
        {
            Answer(Sender, trace, new CommandRejected(RejectionCode.Overloaded,
                $"The event pipeline has {load.Queued} work items waiting (limit {_settings.Pipeline.MaxQueuedWorkItems}); retry later.") { CommandId = commandId });
            return;
        }

        var route = check.Route!;
        var replyMode = metadata.ReplyMode ?? _settings.Pipeline.ReplyMode;
        var pending = new PendingCommand(++_nextRequestId, Sender, commandId, replyMode, route.Definition.Name, command!.AggregateId, trace);
        EventDispatch dispatch;
        if (replyMode == ReplyMode.AfterHandlers)
        {
            _waiting[pending.RequestId] = new WaitingForHandlers(pending);
            dispatch = new EventDispatch(_settings.Router, pending.RequestId, Self, pipeline);
        }
        else
        {
            dispatch = new EventDispatch(_settings.Router, 0, null, pipeline);
        }

        var request = new AggregateRequest(command, commandId, metadata.CorrelationId ?? commandId, metadata.OriginStream, dispatch)
        {
            TraceParent = trace.TraceParent,
        };
        route.Region.Ask<CommandResult>(request, _settings.Mediator.CommandTimeout).ContinueWith(
            task => new AggregateReplied(pending, task.IsCompletedSuccessfully ? task.Result : null),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
    }

    private void Replied(AggregateReplied replied)
    {
        var pending = replied.Pending;
        if (replied.Result is CommandAccepted { Events.Count: > 0, Duplicate: false } accepted
            && _waiting.TryGetValue(pending.RequestId, out var waiting))
        {
            // The aggregate has sent the events to the router; wait for their handlers (they may even be done already).
            waiting.Accepted = accepted with { CommandId = pending.CommandId };
            waiting.Deadline = DateTime.UtcNow + _settings.Mediator.CommandTimeout;
            TryComplete(pending.RequestId, waiting);
            return;
        }

        _waiting.Remove(pending.RequestId);
        Answer(pending.ReplyTo, pending.Trace, replied.Result switch
        {
            null => new CommandRejected(RejectionCode.Timeout,
                $"No answer from {pending.AggregateType} '{pending.AggregateId}' within {_settings.Mediator.CommandTimeout.TotalSeconds:0.###}s. It may or may not have been applied: retry with the same command id.")
                { CommandId = pending.CommandId },
            CommandAccepted { Duplicate: true } duplicate => duplicate with { CommandId = pending.CommandId },
            CommandAccepted { Events.Count: 0 } noEvents => noEvents with { CommandId = pending.CommandId, HandlersCompleted = true },
            var result => result with { CommandId = pending.CommandId },
        });
    }

    private void Dispatched(DispatchCompleted completed)
    {
        if (_waiting.TryGetValue(completed.RequestId, out var waiting))
        {
            waiting.Outcomes = completed.Outcomes;
            TryComplete(completed.RequestId, waiting);
        }
    }

    private void TryComplete(long requestId, WaitingForHandlers waiting)
    {
        if (waiting is { Accepted: { } accepted, Outcomes: { } outcomes })
        {
            _waiting.Remove(requestId);
            Answer(waiting.Pending.ReplyTo, waiting.Pending.Trace, accepted with { HandlersCompleted = true, HandlerOutcomes = outcomes });
        }
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

    private void SweepTimeouts()
    {
        if (_waiting.Count == 0)
        {
            return;
        }

        var now = DateTime.UtcNow;
        foreach (var (requestId, waiting) in _waiting.Where(pair => pair.Value.Accepted is not null && pair.Value.Deadline <= now).ToArray())
        {
            // The events are persisted: the caller learns that, and that its handlers had not all finished in time.
            _waiting.Remove(requestId);
            Answer(waiting.Pending.ReplyTo, waiting.Pending.Trace, waiting.Accepted! with { HandlersCompleted = false });
        }
    }

    /// <summary>The one place a command is answered: its count, latency and span end with the reply.</summary>
    private static void Answer(IActorRef replyTo, CommandTrace trace, CommandResult result)
    {
        trace.Finish(result);
        replyTo.Tell(result);
    }

    private sealed record PendingCommand(long RequestId, IActorRef ReplyTo, string CommandId, ReplyMode ReplyMode, string AggregateType, string AggregateId,
        CommandTrace Trace);

    private sealed class WaitingForHandlers(PendingCommand pending)
    {
        public PendingCommand Pending { get; } = pending;

        public CommandAccepted? Accepted { get; set; }

        public IReadOnlyList<HandlerOutcome>? Outcomes { get; set; }

        public DateTime Deadline { get; set; } = DateTime.MaxValue;
    }

    private sealed record AggregateReplied(PendingCommand Pending, CommandResult? Result);

    private sealed record SweepHandlerTimeouts
    {
        public static SweepHandlerTimeouts Instance { get; } = new();
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
