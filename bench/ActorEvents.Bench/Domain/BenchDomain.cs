using System.Collections.Concurrent;
using System.Diagnostics;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;

namespace ActorEvents.Bench.Domain;

/// <summary>Marker of the bench aggregate's commands.</summary>
public interface IBenchCommand : ICommand;

/// <summary>Persist <paramref name="Events"/> events of <paramref name="PayloadBytes"/> characters each.</summary>
/// <param name="AggregateId">Target aggregate.</param>
/// <param name="Events">How many events to persist (one <c>PersistAll</c>).</param>
/// <param name="PayloadBytes">Length of each event's payload string.</param>
[MessageName("bench.emit")]
public sealed record BenchCommand(string AggregateId, int Events, int PayloadBytes) : IBenchCommand;

/// <summary>Marker of the bench aggregate's events.</summary>
public interface IBenchEvent : IEvent;

/// <summary>One bench event (v2: the filler is called <c>payload</c>).</summary>
/// <param name="AggregateId">Aggregate that emitted it.</param>
/// <param name="Index">Position of the event within its command (0-based).</param>
/// <param name="Payload">Filler of the configured size.</param>
[MessageName("bench.emitted", Version = 2)]
public sealed record BenchEvent(string AggregateId, int Index, string Payload) : IBenchEvent;

/// <summary><c>bench.emitted</c> v1 (the filler was called <c>body</c>), read through its upcaster by the recovery scenario's v1 rows.</summary>
/// <param name="AggregateId">Aggregate that emitted it.</param>
/// <param name="Index">Position of the event within its command (0-based).</param>
/// <param name="Body">Filler of the configured size.</param>
[MessageName("bench.emitted", Version = 1, Superseded = true)]
public sealed record BenchEventV1(string AggregateId, int Index, string Body);

/// <summary>State of a bench aggregate: how many events it holds.</summary>
/// <param name="Events">Events applied so far.</param>
public sealed record BenchState(long Events);

/// <summary>An aggregate whose only command emits a configurable number of events.</summary>
public sealed class BenchAggregate : Aggregate<BenchState, IBenchCommand, IBenchEvent>
{
    private static readonly ConcurrentDictionary<int, string> Payloads = new();

    /// <summary>Stable name of the bench aggregate (its persistence ids are <c>bench-{id}</c>).</summary>
    public const string AggregateName = "bench";

    /// <inheritdoc />
    public override string Name => AggregateName;

    /// <inheritdoc />
    public override BenchState InitialState { get; } = new(0);

    /// <inheritdoc />
    public override CommandExpectation Expect(IBenchCommand command) => CommandExpectation.Any;

    /// <inheritdoc />
    public override Decision<IBenchEvent> Decide(BenchState state, IBenchCommand command)
    {
        if (command is not BenchCommand emit || emit.Events < 1)
        {
            return Decision<IBenchEvent>.Reject("bench commands emit at least one event");
        }

        var payload = PayloadOf(emit.PayloadBytes);
        var events = new IBenchEvent[emit.Events];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new BenchEvent(emit.AggregateId, i, payload);
        }

        return Decision<IBenchEvent>.Accept(events);
    }

    /// <inheritdoc />
    public override BenchState Apply(BenchState state, IBenchEvent @event) => new(state.Events + 1);

    /// <summary>The (shared, immutable) payload string of a size.</summary>
    public static string PayloadOf(int length) => Payloads.GetOrAdd(length, n => new string('x', n));
}

/// <summary>What the bench handlers do, and how many runs they completed. One per host (a singleton service).</summary>
public sealed class BenchWorkload
{
    private long _runs;
    private long _busyTicks;

    /// <summary>Work each handler invocation does.</summary>
    public HandlerWork Work { get; set; }

    /// <summary>Handler invocations completed.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Total wall time spent inside handlers, in <see cref="Stopwatch"/> ticks.</summary>
    public long BusyTicks => Interlocked.Read(ref _busyTicks);

    /// <summary>Runs one handler invocation's work.</summary>
    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        switch (Work)
        {
            case HandlerWork.Delay:
                await Task.Delay(1).ConfigureAwait(false);
                break;
            case HandlerWork.Precise:
                await PreciseDelay.OneMillisecond().ConfigureAwait(false);
                break;
            case HandlerWork.Spin:
                var until = started + (Stopwatch.Frequency / 1000);
                while (Stopwatch.GetTimestamp() < until)
                {
                    Thread.SpinWait(20);
                }

                break;
        }

        Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref _runs);
    }
}

/// <summary>
/// 1 ms waits completed by one background thread that sleeps in 1 ms steps while waits are pending. <c>Task.Delay(1)</c> is
/// rounded up to the runtime timer's clock tick (measured 4–4.7 ms here, against 1.1 ms for <c>Thread.Sleep(1)</c>), which
/// would make every "1 ms handler" a 4 ms handler.
/// </summary>
internal static class PreciseDelay
{
    private static readonly PriorityQueue<TaskCompletionSource, long> Pending = new();
    private static readonly AutoResetEvent Wake = new(false);
    private static readonly Lock Gate = new();
    private static Thread? _thread;

    public static Task OneMillisecond()
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var due = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 1000);
        lock (Gate)
        {
            Pending.Enqueue(completion, due);
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "bench-precise-delay", Priority = ThreadPriority.AboveNormal };
                _thread.Start();
            }
        }

        Wake.Set();
        return completion.Task;
    }

    private static void Run()
    {
        var due = new List<TaskCompletionSource>();
        while (true)
        {
            bool idle;
            lock (Gate)
            {
                var now = Stopwatch.GetTimestamp();
                while (Pending.TryPeek(out var completion, out var at) && at <= now)
                {
                    Pending.Dequeue();
                    due.Add(completion);
                }

                idle = Pending.Count == 0;
            }

            foreach (var completion in due)
            {
                completion.TrySetResult();
            }

            due.Clear();
            if (idle)
            {
                Wake.WaitOne();
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }
}

/// <summary>Base of the bench handler classes: each subclass is one subscription to <see cref="BenchEvent"/>.</summary>
/// <param name="workload">The host's workload settings and counters.</param>
public abstract class BenchHandlerBase(BenchWorkload workload) : IHandle<BenchEvent>
{
    /// <inheritdoc />
    public Task HandleAsync(BenchEvent @event, EventContext context) => workload.RunAsync();
}

/// <summary>Bench handler 1.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler1(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 2.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler2(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 3.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler3(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 4.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler4(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 5.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler5(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 6.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler6(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 7.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler7(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Bench handler 8.</summary>
/// <param name="workload">Workload.</param>
public sealed class BenchHandler8(BenchWorkload workload) : BenchHandlerBase(workload);

/// <summary>Registration of the bench domain.</summary>
public static class BenchDomain
{
    /// <summary>Most handler classes that can subscribe to one event.</summary>
    public const int MaxHandlers = 8;

    /// <summary>Registers the bench aggregate and the first <paramref name="handlers"/> handler classes.</summary>
    public static ActorEventsDomainBuilder AddBenchDomain(this ActorEventsDomainBuilder domain, int handlers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(handlers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(handlers, MaxHandlers);
        domain.AddAggregate<BenchAggregate>()
            .Upcast<BenchEventV1, BenchEvent>(v1 => new BenchEvent(v1.AggregateId, v1.Index, v1.Body));
        Action<ActorEventsDomainBuilder>[] registrations =
        [
            d => d.AddHandler<BenchHandler1>(),
            d => d.AddHandler<BenchHandler2>(),
            d => d.AddHandler<BenchHandler3>(),
            d => d.AddHandler<BenchHandler4>(),
            d => d.AddHandler<BenchHandler5>(),
            d => d.AddHandler<BenchHandler6>(),
            d => d.AddHandler<BenchHandler7>(),
            d => d.AddHandler<BenchHandler8>(),
        ];
        foreach (var register in registrations.Take(handlers))
        {
            register(domain);
        }

        return domain;
    }
}
