using System.Diagnostics;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Telemetry;

/// <summary>
/// The telemetry of one handler invocation: its <c>handle {handler}</c> span, child of the event's
/// <see cref="EventEnvelope.TraceParent"/> and <see cref="Activity.Current"/> while the handler runs (in the invoking
/// async method's own execution context), then its count and duration.
/// </summary>
internal sealed class HandlerRunTrace : IDisposable
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly string _handler;
    private readonly Activity? _activity;
    private bool _finished;

    private HandlerRunTrace(string handler, Activity? activity)
    {
        _handler = handler;
        _activity = activity;
    }

    /// <summary>Starts the span and makes it current.</summary>
    public static HandlerRunTrace Start(string handler, EventEnvelope envelope, int attempt)
    {
        // The span's name is built only when someone listens (an invocation without tracing allocates nothing for it).
        var activity = ActorEventsTelemetry.Source.HasListeners()
            ? ActorEventsTelemetry.StartDetached(ActorEventsTelemetry.Spans.HandlePrefix + handler, ActivityKind.Consumer, envelope.TraceParent)
            : null;
        if (activity is not null)
        {
            if (activity.IsAllDataRequested)
            {
                activity.SetTag(ActorEventsTelemetry.Tags.Handler, handler);
                activity.SetTag(ActorEventsTelemetry.Tags.EventType, envelope.EventType);
                activity.SetTag(ActorEventsTelemetry.Tags.EventId, envelope.EventId);
                activity.SetTag(ActorEventsTelemetry.Tags.AggregateType, envelope.AggregateType);
                activity.SetTag(ActorEventsTelemetry.Tags.AggregateId, envelope.AggregateId);
                activity.SetTag(ActorEventsTelemetry.Tags.CorrelationId, envelope.CorrelationId);
                activity.SetTag(ActorEventsTelemetry.Tags.Attempt, attempt);
            }

            Activity.Current = activity;
        }

        return new HandlerRunTrace(handler, activity);
    }

    /// <summary>Counts the invocation, records its duration and ends the span.</summary>
    /// <param name="errorType">The failure's exception type (null: the invocation succeeded).</param>
    /// <param name="errorMessage">The failure's message.</param>
    public void Finish(string? errorType, string? errorMessage = null)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        var outcome = errorType is null ? "succeeded" : "failed";
        var tags = new TagList
        {
            { ActorEventsTelemetry.Tags.Handler, _handler },
            { ActorEventsTelemetry.Tags.Outcome, outcome },
        };
        if (errorType is not null)
        {
            tags.Add(ActorEventsTelemetry.Tags.ErrorType, errorType);
        }

        ActorEventsTelemetry.HandlerRunCounter.Add(1, tags);
        ActorEventsTelemetry.HandlerSeconds.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
        if (_activity is not null)
        {
            _activity.SetTag(ActorEventsTelemetry.Tags.Outcome, outcome);
            if (errorType is not null)
            {
                _activity.SetTag(ActorEventsTelemetry.Tags.ErrorType, errorType);
                _activity.SetStatus(ActivityStatusCode.Error, errorMessage);
            }

            _activity.Stop();
        }
    }

    /// <summary>Ends the span if <see cref="Finish"/> did not (the worker broke).</summary>
    public void Dispose()
    {
        if (!_finished)
        {
            _finished = true;
            _activity?.Stop();
        }
    }
}
