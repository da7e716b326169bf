using System.Diagnostics;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Telemetry;

/// <summary>
/// The telemetry of one command in the mediator: its <c>command {type}</c> span (child of the caller's trace context,
/// when the caller had one) and, once it is answered, its count and latency. Owned by the mediator's request state.
/// </summary>
internal sealed class CommandTrace
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly string _commandType;
    private readonly Activity? _activity;
    private bool _finished;

    private CommandTrace(string commandType, Activity? activity, string? traceParent)
    {
        _commandType = commandType;
        _activity = activity;
        TraceParent = traceParent;
    }

    /// <summary>The trace context the command's aggregate and handlers continue.</summary>
    public string? TraceParent { get; }

    /// <summary>Starts the span of a command the mediator took.</summary>
    public static CommandTrace Start(ICommand? command, CommandMetadata metadata, string commandId)
    {
        var type = command?.GetType().Name ?? "null";
        var activity = ActorEventsTelemetry.StartDetached(ActorEventsTelemetry.Spans.CommandPrefix + type, ActivityKind.Internal, metadata.TraceParent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(ActorEventsTelemetry.Tags.CommandType, type);
            activity.SetTag(ActorEventsTelemetry.Tags.CommandId, commandId);
            activity.SetTag(ActorEventsTelemetry.Tags.CorrelationId, metadata.CorrelationId ?? commandId);
            activity.SetTag(ActorEventsTelemetry.Tags.AggregateId, command?.AggregateId);
        }

        return new CommandTrace(type, activity, ActorEventsTelemetry.TraceParentOf(activity, metadata.TraceParent));
    }

    /// <summary>Counts the answer, records the latency and ends the span (once).</summary>
    public void Finish(CommandResult result)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var type = new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.CommandType, _commandType);
        if (result is CommandRejected rejected)
        {
            var outcome = new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Outcome, "rejected");
            var code = rejected.Code.ToString();
            ActorEventsTelemetry.CommandCounter.Add(1, type, outcome, new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.RejectionCode, code));
            ActorEventsTelemetry.CommandSeconds.Record(seconds, type, outcome);
            _activity?.SetTag(ActorEventsTelemetry.Tags.Outcome, "rejected");
            _activity?.SetTag(ActorEventsTelemetry.Tags.RejectionCode, code);
            _activity?.SetTag(ActorEventsTelemetry.Tags.ErrorType, code);
            _activity?.SetStatus(ActivityStatusCode.Error, rejected.Message);
        }
        else
        {
            var outcome = new KeyValuePair<string, object?>(ActorEventsTelemetry.Tags.Outcome, "accepted");
            ActorEventsTelemetry.CommandCounter.Add(1, type, outcome);
            ActorEventsTelemetry.CommandSeconds.Record(seconds, type, outcome);
            _activity?.SetTag(ActorEventsTelemetry.Tags.Outcome, "accepted");
        }

        ActorEventsTelemetry.StopDetached(_activity);
    }
}
