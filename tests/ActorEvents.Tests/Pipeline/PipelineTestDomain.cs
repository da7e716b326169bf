using System.Collections.Concurrent;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Tests.Pipeline;

public interface IStreamCommand : ICommand
{
    string StreamId { get; }

    string ICommand.AggregateId => StreamId;
}

/// <summary>Emits <paramref name="Count"/> events numbered from the aggregate's current count.</summary>
[MessageName("test.emit")]
public sealed record Emit(string StreamId, int Count) : IStreamCommand;

public interface IStreamEvent : IEvent;

[MessageName("test.emitted")]
public sealed record Emitted(string StreamId, int Index) : IStreamEvent;

public sealed record StreamState(int Emitted);

public sealed class StreamAggregate : Aggregate<StreamState, IStreamCommand, IStreamEvent>
{
    public override string Name => "stream";

    public override StreamState InitialState => new(0);

    public override CommandExpectation Expect(IStreamCommand command) => CommandExpectation.Any;

    public override Decision<IStreamEvent> Decide(StreamState state, IStreamCommand command) => command switch
    {
        Emit e => Decision<IStreamEvent>.Accept(Enumerable.Range(state.Emitted + 1, e.Count).Select(i => (IStreamEvent)new Emitted(e.StreamId, i)).ToArray()),
        _ => Decision<IStreamEvent>.Reject("unknown"),
    };

    public override StreamState Apply(StreamState state, IStreamEvent @event) => @event is Emitted ? new StreamState(state.Emitted + 1) : state;
}

public interface IOtherCommand : ICommand
{
    string OtherId { get; }

    string ICommand.AggregateId => OtherId;
}

[MessageName("other.touch")]
public sealed record Touch(string OtherId) : IOtherCommand;

public interface IOtherEvent : IEvent;

[MessageName("other.touched")]
public sealed record Touched(string OtherId) : IOtherEvent;

public sealed record OtherState(int Touches);

public sealed class OtherAggregate : Aggregate<OtherState, IOtherCommand, IOtherEvent>
{
    public override string Name => "other";

    public override OtherState InitialState => new(0);

    public override CommandExpectation Expect(IOtherCommand command) => CommandExpectation.Any;

    public override Decision<IOtherEvent> Decide(OtherState state, IOtherCommand command) =>
        Decision<IOtherEvent>.Accept(new Touched(command.AggregateId));

    public override OtherState Apply(OtherState state, IOtherEvent @event) => state with { Touches = state.Touches + 1 };
}

/// <summary>A follow-up event (not persisted by an aggregate).</summary>
[MessageName("test.followed-up")]
public sealed record FollowedUp(string StreamId, int Index, int Level) : IEvent;

/// <summary>Records what handlers saw, and lets a test hold them on a gate.</summary>
public sealed class HandlerProbe
{
    private readonly object _lock = new();
    private int _running;
    private TaskCompletionSource _gate = NewGate(open: true);

    public ConcurrentQueue<(string Handler, EventEnvelope Envelope)> Seen { get; } = new();

    public int MaxRunning { get; private set; }

    public int Running => Volatile.Read(ref _running);

    public void CloseGate() => _gate = NewGate(open: false);

    public void OpenGate() => _gate.TrySetResult();

    public async Task RunAsync(string handler, EventEnvelope envelope, TimeSpan? work = null)
    {
        lock (_lock)
        {
            _running++;
            MaxRunning = Math.Max(MaxRunning, _running);
        }

        try
        {
            await _gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
            if (work is { } delay)
            {
                await Task.Delay(delay);
            }

            Seen.Enqueue((handler, envelope));
        }
        finally
        {
            lock (_lock)
            {
                _running--;
            }
        }
    }

    public IReadOnlyList<(string Handler, EventEnvelope Envelope)> SeenBy(string handler) => Seen.Where(s => s.Handler == handler).ToArray();

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }
}

public sealed class RecordingHandler(HandlerProbe probe) : IHandle<Emitted>
{
    public Task HandleAsync(Emitted @event, EventContext context) => probe.RunAsync(nameof(RecordingHandler), context.Envelope);
}

public sealed class SecondRecordingHandler(HandlerProbe probe) : IHandle<Emitted>
{
    public Task HandleAsync(Emitted @event, EventContext context) => probe.RunAsync(nameof(SecondRecordingHandler), context.Envelope);
}

public sealed class SlowRecordingHandler(HandlerProbe probe) : IHandle<Emitted>
{
    public Task HandleAsync(Emitted @event, EventContext context) =>
        probe.RunAsync(nameof(SlowRecordingHandler), context.Envelope, TimeSpan.FromMilliseconds(Random.Shared.Next(0, 3)));
}

public sealed class ThrowingHandler : IHandle<Emitted>
{
    public Task HandleAsync(Emitted @event, EventContext context) => throw new InvalidOperationException("boom");
}

/// <summary>Emits one follow-up per event; for follow-ups, one deeper follow-up while below <see cref="FollowUpSettings.EmitUntilLevel"/>.</summary>
public sealed class FollowUpEmitter(HandlerProbe probe, FollowUpSettings settings) : IHandle<Emitted>, IHandle<FollowedUp>
{
    public async Task HandleAsync(Emitted @event, EventContext context)
    {
        await probe.RunAsync(nameof(FollowUpEmitter), context.Envelope);
        context.Emit(new FollowedUp(@event.StreamId, @event.Index, 1));
    }

    public async Task HandleAsync(FollowedUp @event, EventContext context)
    {
        await probe.RunAsync(nameof(FollowUpEmitter), context.Envelope);
        if (@event.Level < settings.EmitUntilLevel)
        {
            context.Emit(@event with { Level = @event.Level + 1 });
        }
    }
}

public sealed class FollowUpSettings
{
    public int EmitUntilLevel { get; set; } = 1;
}

public sealed class AnyEventRecorder(HandlerProbe probe) : IHandleAnyEvent
{
    public Task HandleAnyAsync(EventEnvelope envelope, EventContext context) => probe.RunAsync(nameof(AnyEventRecorder), envelope);
}

public sealed class TouchedHandler(HandlerProbe probe) : IHandle<Touched>
{
    public Task HandleAsync(Touched @event, EventContext context) => probe.RunAsync(nameof(TouchedHandler), context.Envelope);
}

/// <summary>Starts hosts with the pipeline test domain and a shared <see cref="HandlerProbe"/>.</summary>
public static class PipelineHost
{
    public static async Task<(ActorEventsTestHost Host, HandlerProbe Probe)> StartAsync(
        Action<ActorEventsDomainBuilder> handlers,
        IReadOnlyDictionary<string, string?>? overrides = null,
        FollowUpSettings? followUps = null,
        Action<IServiceCollection>? services = null)
    {
        var probe = new HandlerProbe();
        var settings = ActorEventsTestHost.Settings(overrides);
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s =>
            new KeyValuePair<string, string?>($"ActorEvents:{s.Key}", s.Value)));
        builder.Services.AddSingleton(probe);
        builder.Services.AddSingleton(followUps ?? new FollowUpSettings());
        // Before AddActorEvents, so a test's own registrations (e.g. an IDeadLetterStore) win over its TryAdd defaults.
        services?.Invoke(builder.Services);
        builder.Services.AddActorEvents(builder.Configuration, domain =>
        {
            domain.AddAggregate<StreamAggregate>().AddAggregate<OtherAggregate>().AddMessageType<FollowedUp>();
            handlers(domain);
        });
        return (await ActorEventsTestHost.StartAsync(builder.Build()), probe);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>A streaming request: emit one event on each of <paramref name="Steps"/> steps.</summary>
public sealed record EmitSteps(string StreamId, int Steps) : IStreamingRequest<int>;

public sealed class EmitStepsHandler(HandlerProbe probe) : IStreamingRequestHandler<EmitSteps, int>
{
    public async IAsyncEnumerable<int> HandleAsync(EmitSteps request, StreamingContext context)
    {
        for (var step = 1; step <= request.Steps; step++)
        {
            var result = await context.SendAsync(new Emit(request.StreamId, 1));
            if (result is not CommandAccepted)
            {
                throw new InvalidOperationException(result.ToString());
            }

            yield return probe.SeenBy(nameof(RecordingHandler)).Count(s => s.Envelope.AggregateId == request.StreamId);
        }
    }
}
