using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Telemetry;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;

namespace ActorEvents.Tests.Telemetry;

/// <summary>
/// The <c>ActorEvents</c> meter and activity source seen by in-process listeners, as an OpenTelemetry SDK sees them:
/// the instruments of a command's path, and one trace for a command, its persist, its handler, the handler's follow-up
/// and the command the handler sends.
/// </summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Should_trace_a_command_its_persist_its_handlers_its_follow_up_and_the_command_a_handler_sends_as_one_trace()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ActorEventsTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<CascadingHandler>());
        await using var _ = host;

        // The caller's own span (e.g. an ASP.NET request) is the root: the client hands it on as the command's parent.
        var root = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("traced", 1)));
        root.Stop();
        await PipelineHost.WaitUntilAsync(() => Trace(spans, root).Count(s => s.OperationName.StartsWith("persist ", StringComparison.Ordinal)) == 2,
            "the handler's command was persisted");

        var trace = Trace(spans, root);
        var command = Assert.Single(trace, s => s.OperationName == "command Emit");
        Assert.Equal(root.SpanId, command.ParentSpanId);
        Assert.Equal("accepted", command.GetTagItem(ActorEventsTelemetry.Tags.Outcome));
        var persist = Assert.Single(trace, s => s.OperationName == "persist stream");
        Assert.Equal(command.SpanId, persist.ParentSpanId);
        Assert.Equal(command.Id, accepted.Events[0].TraceParent); // kept on the envelope, in the journal

        var handles = trace.Where(s => s.OperationName == "handle CascadingHandler").ToArray();
        Assert.Equal(2, handles.Length);
        var onEvent = Assert.Single(handles, s => (string?)s.GetTagItem(ActorEventsTelemetry.Tags.EventType) == "test.emitted");
        var onFollowUp = Assert.Single(handles, s => (string?)s.GetTagItem(ActorEventsTelemetry.Tags.EventType) == "test.followed-up");
        Assert.Equal(command.SpanId, onEvent.ParentSpanId);
        Assert.Equal(onEvent.SpanId, onFollowUp.ParentSpanId);

        var sent = Assert.Single(trace, s => s.OperationName == "command Touch");
        Assert.Equal(onEvent.SpanId, sent.ParentSpanId);
        Assert.Equal(sent.SpanId, Assert.Single(trace, s => s.OperationName == "persist other").ParentSpanId);
        Assert.Equal(2, probe.SeenBy(nameof(CascadingHandler)).Count);
    }

    [Fact]
    public async Task Should_publish_command_handler_persist_and_pool_instruments_on_the_actor_events_meter()
    {
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ActorEventsTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => measurements.Enqueue((i.Name, v, Tags(t))));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => measurements.Enqueue((i.Name, v, Tags(t))));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => measurements.Enqueue((i.Name, v, Tags(t))));
        listener.Start();
        var (host, _) = await PipelineHost.StartAsync(d => d.AddHandler<RecordingHandler>().AddHandler<ThrowingHandler>(),
            new Dictionary<string, string?> { ["Pipeline:Retry:MaxRetries"] = "1", ["Pipeline:Retry:InitialDelay"] = "00:00:00.010" });
        await using var _ = host;
        var node = host.SelfAddress;

        await host.AcceptAsync(new Emit("metered", 2));
        var rejected = Assert.IsType<CommandRejected>(await host.SendAsync(new Emit("", 1)));
        listener.RecordObservableInstruments();

        bool Seen(string instrument, Func<Dictionary<string, object?>, bool> match) => measurements.Any(m => m.Instrument == instrument && match(m.Tags));
        Assert.True(Seen(ActorEventsTelemetry.Commands, t => Is(t, ActorEventsTelemetry.Tags.CommandType, "Emit") && Is(t, ActorEventsTelemetry.Tags.Outcome, "accepted")));
        Assert.True(Seen(ActorEventsTelemetry.Commands, t => Is(t, ActorEventsTelemetry.Tags.Outcome, "rejected")
            && Is(t, ActorEventsTelemetry.Tags.RejectionCode, rejected.Code.ToString())));
        Assert.True(Seen(ActorEventsTelemetry.CommandDuration, t => Is(t, ActorEventsTelemetry.Tags.CommandType, "Emit")));
        Assert.Contains(measurements, m => m.Instrument == ActorEventsTelemetry.EventsPersisted && m.Value == 2 && Is(m.Tags, ActorEventsTelemetry.Tags.AggregateType, "stream"));
        Assert.True(Seen(ActorEventsTelemetry.HandlerRuns, t => Is(t, ActorEventsTelemetry.Tags.Handler, nameof(RecordingHandler)) && Is(t, ActorEventsTelemetry.Tags.Outcome, "succeeded")));
        Assert.True(Seen(ActorEventsTelemetry.HandlerRuns, t => Is(t, ActorEventsTelemetry.Tags.Handler, nameof(ThrowingHandler)) && Is(t, ActorEventsTelemetry.Tags.Outcome, "failed")
            && Is(t, ActorEventsTelemetry.Tags.ErrorType, typeof(InvalidOperationException).FullName)));
        Assert.True(Seen(ActorEventsTelemetry.HandlerDuration, t => Is(t, ActorEventsTelemetry.Tags.Handler, nameof(RecordingHandler))));
        Assert.True(Seen(ActorEventsTelemetry.HandlerRetries, t => Is(t, ActorEventsTelemetry.Tags.Handler, nameof(ThrowingHandler))));
        Assert.True(Seen(ActorEventsTelemetry.HandlerDeadLettered, t => Is(t, ActorEventsTelemetry.Tags.Handler, nameof(ThrowingHandler))));
        foreach (var gauge in new[] { ActorEventsTelemetry.PoolQueued, ActorEventsTelemetry.PoolRunning, ActorEventsTelemetry.PoolRetrying, ActorEventsTelemetry.PoolParked })
        {
            Assert.True(Seen(gauge, t => Is(t, ActorEventsTelemetry.Tags.Pool, "handler-pool") && Is(t, ActorEventsTelemetry.Tags.Node, node)), gauge);
        }
    }

    private static IReadOnlyList<Activity> Trace(IEnumerable<Activity> spans, Activity root) => spans.Where(s => s.TraceId == root.TraceId).ToArray();

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            copy[key] = value;
        }

        return copy;
    }

    private static bool Is(Dictionary<string, object?> tags, string key, string? value) => tags.TryGetValue(key, out var v) && Equals(v?.ToString(), value);
}

/// <summary>On an event: emits a follow-up and sends a command through the client; on the follow-up: nothing more.</summary>
public sealed class CascadingHandler(HandlerProbe probe, IActorEventsClient client) : IHandle<Emitted>, IHandle<FollowedUp>
{
    public async Task HandleAsync(Emitted @event, EventContext context)
    {
        await probe.RunAsync(nameof(CascadingHandler), context.Envelope);
        context.Emit(new FollowedUp(@event.StreamId, @event.Index, 1));
        var sent = await client.SendAsync(new Touch($"{@event.StreamId}-{@event.Index}"));
        if (sent is not CommandAccepted)
        {
            throw new InvalidOperationException(sent.ToString());
        }
    }

    public Task HandleAsync(FollowedUp @event, EventContext context) => probe.RunAsync(nameof(CascadingHandler), context.Envelope);
}
