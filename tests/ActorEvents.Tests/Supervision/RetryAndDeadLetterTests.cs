using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Supervision;

/// <summary>Retries with backoff, permanent errors, the error hook, and an unreachable dead-letter store.</summary>
public sealed class RetryAndDeadLetterTests
{
    private const string Faulty = nameof(FaultyHandler);

    [Fact]
    public async Task Should_retry_a_poison_event_with_growing_delays_then_dead_letter_it_once_while_1000_other_events_are_handled()
    {
        // 100 ms, 400 ms, 1600 ms between the 4 attempts (factor 4, no jitter): a timer can fire late on a loaded
        // machine but never early, and these steps leave 260 ms and 1 s of slack before lateness could reorder them.
        var settings = SupervisionHost.Settings(workers: 4, maxRetries: 3, new Dictionary<string, string?>
        {
            ["Pipeline:Retry:InitialDelay"] = "00:00:00.100",
            ["Pipeline:Retry:BackoffFactor"] = "4",
        });
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "poison" ? new FlakyDependencyException($"poison #{e.SequenceNr} failed") : null);

        var poison = host.SendAsync(new Emit("poison", 1)); // waits for its handler: returns once it is dead-lettered
        var healthy = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => host.SendAsync(new Emit($"healthy-{i}", 10), SupervisionHost.AfterPersist)));
        Assert.All(healthy, r => Assert.IsType<CommandAccepted>(r));
        await PipelineHost.WaitUntilAsync(() => probe.SeenBy(Faulty).Count == 1000, "the 1,000 healthy events are handled");

        var poisonAccepted = Assert.IsType<CommandAccepted>(await poison);
        var poisonEvent = Assert.Single(poisonAccepted.Events);
        var outcome = Assert.Single(poisonAccepted.HandlerOutcomes);
        Assert.Equal(HandlerStatus.DeadLettered, outcome.Status);
        Assert.Equal(4, outcome.Attempts);

        // Exactly 1 + 3 invocations, numbered 1..4, each after at least its nominal backoff delay, with growing
        // intervals (the exact schedule, jitter included, is tested without timers in RetryScheduleTests).
        var attempts = faults.Of(poisonEvent.EventId);
        Assert.Equal([1, 2, 3, 4], attempts.Select(a => a.Attempt));
        Assert.All(attempts, a => Assert.True(a.Failed));
        var intervals = attempts.Zip(attempts.Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds).ToArray();
        Assert.True(intervals[0] < intervals[1] && intervals[1] < intervals[2], $"intervals should grow: {string.Join(", ", intervals.Select(i => $"{i:0} ms"))}");
        double[] nominal = [100, 400, 1600];
        for (var i = 0; i < 3; i++)
        {
            Assert.True(intervals[i] >= nominal[i] * 0.9, $"interval {i + 1} was {intervals[i]:0} ms, nominal {nominal[i]} ms");
        }

        // The healthy aggregates kept flowing while the poison event waited for its retries.
        var healthyDuringRetries = faults.Invocations.Count(i => !i.Failed && i.At > attempts[0].At && i.At < attempts[^1].At);
        Assert.True(healthyDuringRetries > 0, "no healthy event was handled while the poison event was being retried");
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), probe.Handled(Faulty, $"healthy-{i}")));
        Assert.Empty(probe.Handled(Faulty, "poison"));

        // Exactly one entry, with the full metadata.
        var entry = Assert.Single(await host.ListAsync());
        Assert.Equal(Faulty, entry.Handler);
        Assert.Equal(poisonEvent.EventId, entry.Envelope.EventId);
        Assert.Equal("test.emitted", entry.Envelope.EventType);
        Assert.Equal("stream", entry.Envelope.AggregateType);
        Assert.Equal("poison", entry.Envelope.AggregateId);
        Assert.Equal(1, entry.Envelope.SequenceNr);
        Assert.Equal(new Emitted("poison", 1), entry.Envelope.Event);
        Assert.Equal(typeof(FlakyDependencyException).FullName, entry.ErrorType);
        Assert.Equal("poison #1 failed", entry.ErrorMessage);
        Assert.Contains(nameof(SwitchedHandler.HandleAsync), entry.StackTrace);
        Assert.Contains(nameof(SwitchedHandler), entry.StackTrace);
        Assert.Equal(4, entry.Attempts);
        Assert.InRange(entry.FirstFailureAt, attempts[0].At, attempts[1].At);
        Assert.True(entry.LastFailureAt >= attempts[^1].At, $"last failure {entry.LastFailureAt:O} is before the last attempt {attempts[^1].At:O}");
        Assert.Empty(entry.ParkedFollowers);
        Assert.Equal(entry, (await host.AskOfficeAsync<DeadLetterFound>(new InspectDeadLetter(entry.Id))).Entry with { ParkedFollowers = entry.ParkedFollowers });

        var load = host.Host.Services.GetRequiredService<EventPipelineLoad>().Request;
        Assert.Equal(1, load.DeadLettered);
        Assert.Equal(3, load.Retries);
        Assert.Equal(1000, load.Completed);
    }

    [Fact]
    public async Task Should_dead_letter_permanent_errors_after_exactly_one_attempt()
    {
        var settings = SupervisionHost.Settings(workers: 4, maxRetries: 3, new Dictionary<string, string?>
        {
            ["Pipeline:Retry:PermanentExceptions:0"] = typeof(ConfiguredPermanentException).FullName,
        });
        var (host, _, faults) = await SupervisionHost.StartAsync(d => d
            .AddHandler<FaultyHandler>()
            .AddHandler<SecondFaultyHandler>()
            .AddHandler<ThirdFaultyHandler>(h => h.Retry = r => r.Permanent<RegisteredPermanentException>()), settings);
        await using var _ = host;
        faults.FailWhen((handler, e) => (handler, e.AggregateId) switch
        {
            (nameof(FaultyHandler), "permanent") => new PermanentHandlerException("cannot ever work"),
            (nameof(SecondFaultyHandler), "permanent") => new ConfiguredPermanentException("configured as permanent"),
            (nameof(ThirdFaultyHandler), "permanent") => new RegisteredPermanentException("registered as permanent"),
            (nameof(SecondFaultyHandler), "subclass") => new DerivedConfiguredPermanentException("a subclass of a permanent type"),
            // Control: permanent only for ThirdFaultyHandler, so SecondFaultyHandler retries it (1 + 3 attempts).
            (nameof(SecondFaultyHandler), "control") => new RegisteredPermanentException("permanent for another handler only"),
            _ => null,
        });

        var permanent = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("permanent", 1)));
        var subclass = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("subclass", 1)));
        var control = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("control", 1)));

        var permanentId = permanent.Events[0].EventId;
        foreach (var handler in new[] { nameof(FaultyHandler), nameof(SecondFaultyHandler), nameof(ThirdFaultyHandler) })
        {
            Assert.Single(faults.Of(handler, permanentId));
            var outcome = Assert.Single(permanent.HandlerOutcomes, o => o.Handler == handler);
            Assert.Equal(HandlerStatus.DeadLettered, outcome.Status);
            Assert.Equal(1, outcome.Attempts);
        }

        Assert.Single(faults.Of(nameof(SecondFaultyHandler), subclass.Events[0].EventId));
        Assert.Equal(4, faults.Of(nameof(SecondFaultyHandler), control.Events[0].EventId).Count);

        var entries = await host.ListAsync();
        Assert.Equal(5, entries.Count);
        string ErrorOf(string handler, string aggregate) => Assert.Single(entries, e => e.Handler == handler && e.Envelope.AggregateId == aggregate).ErrorType;
        Assert.Equal(typeof(PermanentHandlerException).FullName, ErrorOf(nameof(FaultyHandler), "permanent"));
        Assert.Equal(typeof(ConfiguredPermanentException).FullName, ErrorOf(nameof(SecondFaultyHandler), "permanent"));
        Assert.Equal(typeof(RegisteredPermanentException).FullName, ErrorOf(nameof(ThirdFaultyHandler), "permanent"));
        Assert.Equal(typeof(DerivedConfiguredPermanentException).FullName, ErrorOf(nameof(SecondFaultyHandler), "subclass"));
        Assert.All(entries.Where(e => e.Envelope.AggregateId != "control"), e => Assert.Equal(1, e.Attempts));
        Assert.Equal(4, Assert.Single(entries, e => e.Envelope.AggregateId == "control").Attempts);

        // No late retry of a permanent failure.
        await Task.Delay(300);
        Assert.Equal(3 + 1 + 4, faults.Invocations.Count(i => i.Failed));
    }

    [Fact]
    public async Task Should_call_the_error_hook_once_per_failed_attempt()
    {
        var (host, _, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 3));
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "hooked" ? new FlakyDependencyException($"attempt failed on {e.EventId}") : null);

        var fine = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("fine", 2)));
        Assert.All(fine.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
        Assert.Empty(faults.HookCalls);

        var hooked = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("hooked", 1)));
        var eventId = hooked.Events[0].EventId;
        Assert.Equal(HandlerStatus.DeadLettered, Assert.Single(hooked.HandlerOutcomes).Status);

        var calls = faults.HookCalls.ToArray();
        Assert.Equal([1, 2, 3, 4], calls.Select(c => c.Attempt));
        Assert.All(calls, c =>
        {
            Assert.Equal(nameof(FaultyHandler), c.Handler);
            Assert.Equal(eventId, c.Envelope.EventId);
            var error = Assert.IsType<FlakyDependencyException>(c.Error);
            Assert.Equal($"attempt failed on {eventId}", error.Message);
        });
    }

    [Fact]
    public async Task Should_keep_the_pipeline_running_when_the_error_hook_throws()
    {
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 1));
        await using var _ = host;
        faults.HookThrows = true;
        faults.FailWhen((_, e) => e.AggregateId == "hook-breaks" ? new FlakyDependencyException("handler failed") : null);

        var failing = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("hook-breaks", 1)));
        Assert.Equal(HandlerStatus.DeadLettered, Assert.Single(failing.HandlerOutcomes).Status);
        Assert.Equal(2, faults.HookCalls.Count);

        var entry = Assert.Single(await host.ListAsync());
        Assert.Equal(failing.Events[0].EventId, entry.Envelope.EventId);
        Assert.Equal(typeof(FlakyDependencyException).FullName, entry.ErrorType); // the handler's error, not the hook's
        Assert.Equal(2, entry.Attempts);

        var later = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("after-the-hook", 3)));
        Assert.Equal(3, later.HandlerOutcomes.Count(o => o.Status == HandlerStatus.Succeeded));
        Assert.Equal([1L, 2L, 3L], probe.Handled(nameof(FaultyHandler), "after-the-hook"));
    }

    [Fact]
    public async Task Should_keep_retrying_a_failed_dead_letter_write_until_it_is_stored_exactly_once()
    {
        var store = new FlakyDeadLetterStore(failures: 2);
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), SupervisionHost.Settings(maxRetries: 0),
            services: s => s.AddSingleton<IDeadLetterStore>(store));
        await using var _ = host;
        faults.FailWhen((_, e) => e is { AggregateId: "store-down", SequenceNr: 1 } ? new FlakyDependencyException("poison") : null);

        var failing = host.SendAsync(new Emit("store-down", 3));
        await PipelineHost.WaitUntilAsync(() => store.AddCalls >= 1, "the first dead-letter write was tried");

        // While the store is down the pool keeps handling other aggregates.
        var other = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("store-down-other", 5)));
        Assert.All(other.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
        Assert.True(store.AddCalls < 3, "the write should still be failing while the other aggregate was handled");
        Assert.Empty(await host.ListAsync());

        var accepted = Assert.IsType<CommandAccepted>(await failing);
        Assert.Equal(3, store.AddCalls);
        var outcomes = accepted.Events.Select(e => Assert.Single(accepted.HandlerOutcomes, o => o.EventId == e.EventId).Status);
        Assert.Equal([HandlerStatus.DeadLettered, HandlerStatus.Parked, HandlerStatus.Parked], outcomes);

        var entry = Assert.Single(await host.WaitForEntriesAsync(e => e.Count == 1 && e[0].ParkedFollowers.Count == 2, "the followers are recorded"));
        Assert.Equal(accepted.Events[0].EventId, entry.Envelope.EventId);
        Assert.Equal(accepted.Events.Skip(1).Select(e => e.EventId), entry.ParkedFollowers.Select(f => f.EventId));
        Assert.Single(faults.Of(accepted.Events[0].EventId));

        // No duplicate write happens later.
        await Task.Delay(300);
        Assert.Equal(3, store.AddCalls);
        Assert.Single(await host.ListAsync());
        Assert.Empty(probe.Handled(nameof(FaultyHandler), "store-down"));
    }

    [Fact]
    public async Task Should_time_out_a_hanging_handler_retry_it_and_dead_letter_it_with_a_timeout_error()
    {
        var settings = SupervisionHost.Settings(4, 1, new Dictionary<string, string?> { ["Pipeline:Retry:InvocationTimeout"] = "00:00:00.150" });
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = host;
        faults.FailWhen((_, e) => e.AggregateId == "hangs" ? new HangSignalException() : null);

        var hanging = host.SendAsync(new Emit("hangs", 1));
        var other = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("does-not-hang", 2)));
        Assert.All(other.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));

        var accepted = Assert.IsType<CommandAccepted>(await hanging);
        var outcome = Assert.Single(accepted.HandlerOutcomes);
        Assert.Equal(HandlerStatus.DeadLettered, outcome.Status);
        Assert.Equal(2, outcome.Attempts);
        Assert.Equal(2, faults.Of(accepted.Events[0].EventId).Count);
        var entry = Assert.Single(await host.ListAsync());
        Assert.Equal(typeof(TimeoutException).FullName, entry.ErrorType);
        Assert.Contains("did not finish within 150 ms", entry.ErrorMessage);
        Assert.Equal(2, entry.Attempts);
        Assert.Empty(probe.Handled(Faulty, "hangs"));
    }

    [Fact]
    public async Task Should_not_let_later_events_overtake_a_retry_when_handlers_run_one_at_a_time()
    {
        var settings = SupervisionHost.Settings(1, 2, new Dictionary<string, string?> { ["Pipeline:ConcurrentEventHandleEnable"] = "false" });
        var (host, probe, faults) = await SupervisionHost.StartAsync(d => d.AddHandler<FaultyHandler>(), settings);
        await using var _ = host;
        var failures = 0;
        faults.FailWhen((_, e) => e is { AggregateId: "sequential", SequenceNr: 1 } && Interlocked.Increment(ref failures) <= 2
            ? new FlakyDependencyException("fails twice, then works")
            : null);

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("sequential", 3)));

        Assert.All(accepted.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
        Assert.Equal(3, Assert.Single(accepted.HandlerOutcomes, o => o.EventId == accepted.Events[0].EventId).Attempts);
        Assert.Equal([1L, 2L, 3L], probe.Handled(Faulty, "sequential"));
        Assert.Empty(await host.ListAsync());
    }
}
