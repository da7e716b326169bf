using System.Globalization;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Pipeline;

public sealed class HandlerPoolTests
{
    private static Dictionary<string, string?> Pool(int n, bool parallel = true, string ordering = "PerAggregate") => new()
    {
        ["Pipeline:MaxConcurrentEventHandlers"] = n.ToString(CultureInfo.InvariantCulture),
        ["Pipeline:ConcurrentEventHandleEnable"] = parallel.ToString(),
        ["Pipeline:Ordering"] = ordering,
    };

    [Fact]
    public async Task Should_never_run_more_than_N_handlers_at_once_across_many_commands()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<RecordingHandler>(), Pool(3, ordering: "None"));
        await using var _ = host;
        probe.CloseGate();

        // 12 commands on 12 aggregates, 5 events each = 60 (event, handler) pairs in flight at once.
        var sends = Enumerable.Range(0, 12).Select(i => host.SendAsync(new Emit($"bound-{i}", 5))).ToArray();
        await PipelineHost.WaitUntilAsync(() => probe.Running == 3, "3 handlers run");
        await Task.Delay(300); // give a 4th one every chance to start
        Assert.Equal(3, probe.Running);

        probe.OpenGate();
        var results = await Task.WhenAll(sends);
        Assert.All(results, r => Assert.True(r is CommandAccepted { HandlersCompleted: true }, r.ToString()));
        Assert.Equal(60, probe.Seen.Count);
        Assert.Equal(3, probe.MaxRunning);
        Assert.Equal(3, host.Host.Services.GetRequiredService<EventPipelineLoad>().Request.PeakRunning);
    }

    [Fact]
    public async Task Should_run_one_at_a_time_in_emission_order_when_parallelism_is_off()
    {
        var (host, probe) = await PipelineHost.StartAsync(
            d => d.AddHandler<RecordingHandler>().AddHandler<SecondRecordingHandler>(), Pool(3, parallel: false));
        await using var _ = host;

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("seq", 4)));

        Assert.Equal(1, probe.MaxRunning);
        var expected = accepted.Events.SelectMany(e => new[] { (nameof(RecordingHandler), e.EventId), (nameof(SecondRecordingHandler), e.EventId) });
        Assert.Equal(expected, probe.Seen.Select(s => (s.Handler, s.Envelope.EventId)));
        Assert.Equal(8, accepted.HandlerOutcomes.Count);
        Assert.All(accepted.HandlerOutcomes, o => Assert.Equal(HandlerStatus.Succeeded, o.Status));
    }

    [Fact]
    public async Task Should_keep_each_aggregates_events_in_order_while_aggregates_run_in_parallel()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<SlowRecordingHandler>(), Pool(4));
        await using var _ = host;

        // 8 aggregates × 10 commands × 2 events, every command sent without waiting for the previous one.
        var sends = new List<Task<CommandResult>>();
        for (var round = 0; round < 10; round++)
        {
            for (var a = 0; a < 8; a++)
            {
                sends.Add(host.SendAsync(new Emit($"order-{a}", 2), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist)));
            }
        }

        await Task.WhenAll(sends);
        await PipelineHost.WaitUntilAsync(() => probe.Seen.Count == 160, "160 events handled");

        foreach (var stream in probe.Seen.GroupBy(s => s.Envelope.AggregateId))
        {
            var sequence = stream.Select(s => s.Envelope.SequenceNr).ToArray();
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), sequence);
        }

        Assert.True(probe.MaxRunning > 1, $"aggregates should run concurrently, max was {probe.MaxRunning}");
        Assert.True(probe.MaxRunning <= 4);
    }

    [Fact]
    public async Task Should_report_a_throwing_handler_without_stopping_its_siblings()
    {
        var overrides = Pool(3);
        overrides["Pipeline:Retry:MaxRetries"] = "0";
        var (host, probe) = await PipelineHost.StartAsync(
            d => d.AddHandler<RecordingHandler>().AddHandler<ThrowingHandler>().AddHandler<SecondRecordingHandler>(), overrides);
        await using var _ = host;

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("throws", 1)));

        Assert.Single(probe.SeenBy(nameof(RecordingHandler)));
        Assert.Single(probe.SeenBy(nameof(SecondRecordingHandler)));
        var failed = Assert.Single(accepted.HandlerOutcomes, o => o.Status == HandlerStatus.DeadLettered);
        Assert.Equal(nameof(ThrowingHandler), failed.Handler);
        Assert.Contains("boom", failed.Error);
        Assert.Equal(2, accepted.HandlerOutcomes.Count(o => o.Status == HandlerStatus.Succeeded));

        // The pool keeps working afterwards.
        var next = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("throws", 1)));
        Assert.Equal(3, next.HandlerOutcomes.Count);
    }

    [Fact]
    public async Task Should_reject_commands_as_overloaded_when_the_queue_is_full_and_write_nothing_for_them()
    {
        var overrides = Pool(1);
        overrides["Pipeline:MaxQueuedWorkItems"] = "10";
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<RecordingHandler>(), overrides);
        await using var _ = host;
        probe.CloseGate();
        var load = host.Host.Services.GetRequiredService<EventPipelineLoad>().Request;

        var results = new List<(string Id, CommandResult Result)>();
        for (var i = 0; i < 40; i++)
        {
            var id = $"flood-{i}";
            results.Add((id, await host.SendAsync(new Emit(id, 2), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist))));
            // The pool answers an AfterPersist command only once it took its items, after telling the mediator it is full: a
            // sequential caller adds at most one command (2 items) beyond the limit.
            Assert.True(load.Queued <= 10 + 2, $"queue grew to {load.Queued}");
        }

        var overloaded = results.Where(r => r.Result is CommandRejected { Code: RejectionCode.Overloaded }).ToArray();
        Assert.NotEmpty(overloaded);
        Assert.Equal(40, overloaded.Length + results.Count(r => r.Result is CommandAccepted));
        foreach (var (id, _) in overloaded)
        {
            Assert.Empty(await host.ReadStreamAsync("stream", id));
        }

        probe.OpenGate();
        await PipelineHost.WaitUntilAsync(() => load.Queued == 0 && load.Running == 0, "the queue drains");
        Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("after-flood", 1)));
    }

    [Fact]
    public async Task Should_reply_after_all_handlers_finished_or_right_after_persist_in_no_wait_mode()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<RecordingHandler>(), Pool(2, ordering: "None"));
        await using var _ = host;
        probe.CloseGate();

        var waiting = host.SendAsync(new Emit("in-request", 2));
        await PipelineHost.WaitUntilAsync(() => probe.Running == 2, "both handlers started");
        var noWait = await host.SendAsync(new Emit("no-wait", 1), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
        var noWaitAccepted = Assert.IsType<CommandAccepted>(noWait);
        Assert.False(noWaitAccepted.HandlersCompleted);
        Assert.Empty(noWaitAccepted.HandlerOutcomes);

        await Task.Delay(200);
        Assert.False(waiting.IsCompleted, "the in-request reply must wait for its handlers");

        probe.OpenGate();
        var accepted = Assert.IsType<CommandAccepted>(await waiting);
        Assert.True(accepted.HandlersCompleted);
        Assert.Equal(2, accepted.HandlerOutcomes.Count);
        Assert.Equal(2, probe.SeenBy(nameof(RecordingHandler)).Count(s => s.Envelope.AggregateId == "in-request"));
    }
}
