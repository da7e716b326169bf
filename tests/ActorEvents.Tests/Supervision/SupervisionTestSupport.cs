using System.Globalization;
using System.Collections.Concurrent;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ActorEvents.Tests.Supervision;

/// <summary>A transient error (retried).</summary>
public sealed class FlakyDependencyException(string message) : Exception(message);

/// <summary>Marked permanent through configuration (<c>Pipeline:Retry:PermanentExceptions</c>).</summary>
public class ConfiguredPermanentException(string message) : Exception(message);

/// <summary>A subclass of a configured permanent type: permanent as well.</summary>
public sealed class DerivedConfiguredPermanentException(string message) : ConfiguredPermanentException(message);

/// <summary>Marked permanent at handler registration (<c>h.Retry = r => r.Permanent&lt;…&gt;()</c>).</summary>
public sealed class RegisteredPermanentException(string message) : Exception(message);

/// <summary>Returned by a fault to make the handler hang (until its invocation's cancellation token fires).</summary>
public sealed class HangSignalException() : Exception("hang");

/// <summary>One invocation of a <see cref="SwitchedHandler"/>.</summary>
public sealed record Invocation(string Handler, EventEnvelope Envelope, int Attempt, DateTimeOffset At, bool Failed);

/// <summary>One call of the <see cref="IHandleErrors"/> hook.</summary>
public sealed record HookCall(string Handler, Exception Error, EventEnvelope Envelope, int Attempt);

/// <summary>
/// A singleton the switched handlers consult before doing their work: a test turns a fault on (for some
/// handler/event pairs) and off ("the fault is fixed"). It also records every invocation and hook call.
/// </summary>
public sealed class FaultSwitch
{
    private volatile Func<string, EventEnvelope, Exception?>? _fault;

    public ConcurrentQueue<Invocation> Invocations { get; } = new();

    public ConcurrentQueue<HookCall> HookCalls { get; } = new();

    /// <summary>When true the error hook throws after recording its call.</summary>
    public bool HookThrows { get; set; }

    /// <summary>Fails every invocation for which <paramref name="fault"/> returns an exception.</summary>
    public void FailWhen(Func<string, EventEnvelope, Exception?> fault) => _fault = fault;

    /// <summary>The fault is fixed: every later invocation succeeds.</summary>
    public void Heal() => _fault = null;

    public Exception? FaultFor(string handler, EventEnvelope envelope) => _fault?.Invoke(handler, envelope);

    public IReadOnlyList<Invocation> Of(string eventId) => Invocations.Where(i => i.Envelope.EventId == eventId).ToArray();

    public IReadOnlyList<Invocation> Of(string handler, string eventId) =>
        Invocations.Where(i => i.Handler == handler && i.Envelope.EventId == eventId).ToArray();
}

/// <summary>
/// Handles <see cref="Emitted"/>: records the invocation, throws when the <see cref="FaultSwitch"/> says so,
/// otherwise performs its effect (recorded by the <see cref="HandlerProbe"/>). Its error hook records each call.
/// </summary>
public abstract class SwitchedHandler(FaultSwitch faults, HandlerProbe probe) : IHandle<Emitted>, IHandleErrors
{
    public async Task HandleAsync(Emitted @event, EventContext context)
    {
        var error = faults.FaultFor(context.HandlerName, context.Envelope);
        var hold = error as HoldSignalException;
        error = hold is null ? error : null;
        faults.Invocations.Enqueue(new Invocation(context.HandlerName, context.Envelope, context.Attempt, DateTimeOffset.UtcNow, error is not null));
        if (hold is not null)
        {
            await hold.Until.WaitAsync(context.CancellationToken);
        }

        if (error is HangSignalException)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        if (error is not null)
        {
            throw error;
        }

        await probe.RunAsync(context.HandlerName, context.Envelope);
    }

    public Task HandleErrorAsync(Exception error, EventEnvelope envelope, EventContext context)
    {
        faults.HookCalls.Enqueue(new HookCall(context.HandlerName, error, envelope, context.Attempt));
        if (faults.HookThrows)
        {
            throw new InvalidOperationException("the error hook itself broke");
        }

        return Task.CompletedTask;
    }
}

public sealed class FaultyHandler(FaultSwitch faults, HandlerProbe probe) : SwitchedHandler(faults, probe);

public sealed class SecondFaultyHandler(FaultSwitch faults, HandlerProbe probe) : SwitchedHandler(faults, probe);

public sealed class ThirdFaultyHandler(FaultSwitch faults, HandlerProbe probe) : SwitchedHandler(faults, probe);

/// <summary>A dead-letter store that passes every call to another one; derive to change a few.</summary>
public abstract class DelegatingDeadLetterStore(IDeadLetterStore inner) : IDeadLetterStore
{
    /// <summary>The store a node of these options and domain would use (to wrap in a derived store registered before <c>AddActorEvents</c>).</summary>
    public static IDeadLetterStore NodeStore(IServiceProvider provider) =>
        DeadLetterStores.Create(provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Persistence, provider.GetRequiredService<ActorEventsDomain>().Types);

    public virtual Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public virtual Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default) => inner.AddAsync(entry, cancellationToken);

    public virtual Task<bool> AddFollowerAsync(long id, EventEnvelope follower, CancellationToken cancellationToken = default) =>
        inner.AddFollowerAsync(id, follower, cancellationToken);

    public virtual Task RecordFailureAsync(long id, HandlerFailure error, int attempts, CancellationToken cancellationToken = default) =>
        inner.RecordFailureAsync(id, error, attempts, cancellationToken);

    public virtual Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default) =>
        inner.ListAsync(filter, cancellationToken);

    public virtual Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public virtual Task<DeadLetter?> TakeAsync(long id, CancellationToken cancellationToken = default) => inner.TakeAsync(id, cancellationToken);

    public virtual Task<IReadOnlyList<DeadLetter>> PurgeAsync(IReadOnlyCollection<string> except, CancellationToken cancellationToken = default) => inner.PurgeAsync(except, cancellationToken);

    public virtual Task FollowerDoneAsync(long id, string eventId, CancellationToken cancellationToken = default) =>
        inner.FollowerDoneAsync(id, eventId, cancellationToken);

    public virtual Task<IReadOnlyList<DeadLetter>> ClaimStaleResolutionsAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default) =>
        inner.ClaimStaleResolutionsAsync(handlers, cancellationToken);

    public virtual Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default) =>
        inner.OpenKeysAsync(handlers, cancellationToken);

    public virtual Task<DeadLetterCount> CountAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default) =>
        inner.CountAsync(handlers, cancellationToken);
}

/// <summary>An in-memory dead-letter store whose <see cref="AddAsync"/> throws the first <c>failures</c> times.</summary>
public sealed class FlakyDeadLetterStore(int failures) : DelegatingDeadLetterStore(new InMemoryDeadLetterStore())
{
    private int _addCalls;

    public int AddCalls => Volatile.Read(ref _addCalls);

    public ConcurrentQueue<DateTimeOffset> AddCallTimes { get; } = new();

    public override Task<long> AddAsync(NewDeadLetter entry, CancellationToken cancellationToken = default)
    {
        AddCallTimes.Enqueue(DateTimeOffset.UtcNow);
        return Interlocked.Increment(ref _addCalls) <= failures
            ? Task.FromException<long>(new TimeoutException($"dead-letter database unreachable (call {_addCalls})"))
            : base.AddAsync(entry, cancellationToken);
    }
}

/// <summary>
/// A dead-letter store (around the one the node would use) whose reads of open entries — the handler pools' start-up
/// load and refreshes — can be made to fail, or held at a gate so that a node does not notice what other nodes resolve.
/// </summary>
public sealed class GatedDeadLetterStore(IDeadLetterStore inner) : DelegatingDeadLetterStore(inner)
{
    private volatile TaskCompletionSource _gate = Open();
    private int _waiting;
    private int _reading;
    private int _failedReads;

    /// <summary>The store of a node's options and domain, gated (register it before <c>AddActorEvents</c>); <paramref name="failReads"/> from the start.</summary>
    public static void Register(IServiceCollection services, bool failReads = false) => services.AddSingleton<IDeadLetterStore>(provider => new GatedDeadLetterStore(
        NodeStore(provider))
    {
        FailReads = failReads,
    });

    /// <summary>The gated store of a started node.</summary>
    public static GatedDeadLetterStore Of(ActorEventsTestHost host) => (GatedDeadLetterStore)host.Host.Services.GetRequiredService<IDeadLetterStore>();

    /// <summary>While true, every read of open entries throws.</summary>
    public bool FailReads { get; set; }

    public int FailedReads => Volatile.Read(ref _failedReads);

    /// <summary>Closes the gate; returns once a read waits at it and no read is under way behind it.</summary>
    public async Task HoldReadsAsync()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await PipelineHost.WaitUntilAsync(() => Volatile.Read(ref _waiting) > 0 && Volatile.Read(ref _reading) == 0, "a read of open dead letters waits at the gate");
    }

    public void OpenGate() => _gate.TrySetResult();

    public override async Task<IReadOnlyList<DeadLetterKey>> OpenKeysAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _gate.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        if (FailReads)
        {
            Interlocked.Increment(ref _failedReads);
            throw new TimeoutException("dead-letter database unreachable");
        }

        Interlocked.Increment(ref _reading);
        try
        {
            return await base.OpenKeysAsync(handlers, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _reading);
        }
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource();
        open.SetResult();
        return open;
    }
}

/// <summary>Returned by a fault to make the handler wait until <paramref name="until"/> completes, then succeed.</summary>
public sealed class HoldSignalException(Task until) : Exception("hold")
{
    public Task Until { get; } = until;
}

/// <summary>Starts pipeline hosts with a <see cref="FaultSwitch"/> and talks to their <see cref="DeadLetterOffice"/>.</summary>
public static class SupervisionHost
{
    /// <summary>
    /// Parallel pool of <paramref name="workers"/> with per-aggregate ordering, 20 ms retry delays without jitter,
    /// and <paramref name="maxRetries"/> retries; <paramref name="overrides"/> win.
    /// </summary>
    public static Dictionary<string, string?> Settings(int workers = 4, int maxRetries = 0, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Pipeline:MaxConcurrentEventHandlers"] = workers.ToString(CultureInfo.InvariantCulture),
            ["Pipeline:ConcurrentEventHandleEnable"] = "true",
            ["Pipeline:Ordering"] = "PerAggregate",
            ["Pipeline:Retry:MaxRetries"] = maxRetries.ToString(CultureInfo.InvariantCulture),
            ["Pipeline:Retry:InitialDelay"] = "00:00:00.020",
            ["Pipeline:Retry:BackoffFactor"] = "2",
            ["Pipeline:Retry:Jitter"] = "0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static async Task<(ActorEventsTestHost Host, HandlerProbe Probe, FaultSwitch Faults)> StartAsync(
        Action<ActorEventsDomainBuilder> handlers, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null,
        FaultSwitch? faults = null)
    {
        faults ??= new FaultSwitch();
        var (host, probe) = await PipelineHost.StartAsync(handlers, settings, services: s =>
        {
            s.AddSingleton(faults);
            services?.Invoke(s);
        });
        return (host, probe, faults);
    }

    /// <summary>Polls the office until the listing satisfies <paramref name="condition"/>, and returns it.</summary>
    public static async Task<IReadOnlyList<DeadLetter>> WaitForEntriesAsync(
        this ActorEventsTestHost host, Func<IReadOnlyList<DeadLetter>, bool> condition, string what, DeadLetterFilter? filter = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var entries = await host.ListAsync(filter);
            if (condition(entries))
            {
                return entries;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}; the store holds [{string.Join(", ", entries.Select(Describe))}].");
            }

            await Task.Delay(10);
        }
    }

    public static string Describe(DeadLetter entry) =>
        $"#{entry.Id} {entry.Handler} {entry.Envelope.StreamName}:{entry.Envelope.SequenceNr} attempts={entry.Attempts} followers={entry.ParkedFollowers.Count}";

    /// <summary>Sequence numbers a handler completed for one aggregate, in completion order.</summary>
    public static long[] Handled(this HandlerProbe probe, string handler, string aggregateId) =>
        probe.SeenBy(handler).Where(s => s.Envelope.AggregateId == aggregateId).Select(s => s.Envelope.SequenceNr).ToArray();

    public static CommandMetadata AfterPersist => new(ReplyMode: ReplyMode.AfterPersist);

    /// <summary>
    /// The parking scenario: sends five events to aggregate <paramref name="parked"/> (whose event 2 the caller made fail
    /// for <see cref="FaultyHandler"/>) and five to <paramref name="flowing"/> at once; asserts that the first one's event 1
    /// was handled, 2 dead-lettered and 3..5 parked, and that the second one's were all handled. Returns the first's result.
    /// </summary>
    public static async Task<CommandAccepted> SendParkingScenarioAsync(this ActorEventsTestHost host, HandlerProbe probe, string parked, string flowing)
    {
        var sendParked = host.SendAsync(new Emit(parked, 5));
        var sendFlowing = host.SendAsync(new Emit(flowing, 5));
        var accepted = Assert.IsType<CommandAccepted>(await sendParked);
        var other = Assert.IsType<CommandAccepted>(await sendFlowing);
        Assert.Equal([HandlerStatus.Succeeded, HandlerStatus.DeadLettered, HandlerStatus.Parked, HandlerStatus.Parked, HandlerStatus.Parked], accepted.StatusesInOrder());
        Assert.All(other.StatusesInOrder(), s => Assert.Equal(HandlerStatus.Succeeded, s));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], probe.Handled(nameof(FaultyHandler), flowing));
        Assert.Equal([1L], probe.Handled(nameof(FaultyHandler), parked));
        return accepted;
    }

    /// <summary>The status of each event's (single) handler outcome, in event order.</summary>
    public static HandlerStatus[] StatusesInOrder(this CommandAccepted accepted) =>
        accepted.Events.Select(e => Assert.Single(accepted.HandlerOutcomes, o => o.EventId == e.EventId).Status).ToArray();
}
