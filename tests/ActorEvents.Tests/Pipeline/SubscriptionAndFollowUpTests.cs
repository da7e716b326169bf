using ActorEvents.Actors.Hosting;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Pipeline;

public sealed class SubscriptionAndFollowUpTests
{
    private static readonly Dictionary<string, string?> Sequential = new()
    {
        ["Pipeline:ConcurrentEventHandleEnable"] = "false",
    };

    [Fact]
    public async Task Should_run_follow_ups_breadth_first_in_sequential_mode_with_correlation_and_causation()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<FollowUpEmitter>(), Sequential);
        await using var _ = host;

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("bfs", 2), new CommandMetadata(CorrelationId: "corr-1")));

        var seen = probe.Seen.Select(s => s.Envelope).ToArray();
        Assert.Equal(["test.emitted", "test.emitted", "test.followed-up", "test.followed-up"], seen.Select(e => e.EventType));
        var followUp1 = seen[2];
        var followUp2 = seen[3];
        Assert.Equal(accepted.Events[0].EventId, followUp1.CausationId);
        Assert.Equal(accepted.Events[1].EventId, followUp2.CausationId);
        Assert.All(seen, e => Assert.Equal("corr-1", e.CorrelationId));
        Assert.Equal(accepted.Events[0].StreamName, followUp1.OriginStream);
        Assert.Equal(4, accepted.HandlerOutcomes.Count);
    }

    [Fact]
    public async Task Should_start_a_follow_up_as_soon_as_its_parent_finished_in_parallel_mode()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<FollowUpEmitter>(), new Dictionary<string, string?> { ["Pipeline:Ordering"] = "None" });
        await using var _ = host;

        // N = 1, parallel on: the follow-up of event 1 jumps ahead of event 2 (depth-first), unlike sequential mode.
        await host.SendAsync(new Emit("dfs", 2));

        Assert.Equal(["test.emitted", "test.followed-up", "test.emitted", "test.followed-up"], probe.Seen.Select(s => s.Envelope.EventType));
    }

    [Fact]
    public async Task Should_stop_a_cascade_deeper_than_the_limit_with_a_clear_error()
    {
        var overrides = new Dictionary<string, string?>(Sequential) { ["Pipeline:MaxFollowUpDepth"] = "3" };
        var (host, probe) = await PipelineHost.StartAsync(d => d.AddHandler<FollowUpEmitter>(), overrides, new FollowUpSettings { EmitUntilLevel = int.MaxValue });
        await using var _ = host;

        var accepted = Assert.IsType<CommandAccepted>(await host.SendAsync(new Emit("loop", 1)));

        Assert.True(accepted.HandlersCompleted);
        Assert.Equal(4, probe.Seen.Count); // the event and follow-ups at depth 1, 2 and 3
        var stopped = Assert.Single(accepted.HandlerOutcomes, o => o.Status == HandlerStatus.Failed);
        Assert.Contains("depth limit of 3", stopped.Error);
    }

    [Fact]
    public async Task Should_filter_by_stream_category_and_deliver_to_any_event_and_multiple_handlers()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d
            .AddHandler<RecordingHandler>(h => h.PartOf = "stream")
            .AddHandler<SecondRecordingHandler>(h => { h.PartOf = "other"; h.StreamCategory = "stream"; })
            .AddHandler<TouchedHandler>(h => h.PartOf = "other")
            .AddHandler<AnyEventRecorder>(h => h.Name = "audit-everything"));
        await using var _ = host;

        await host.SendAsync(new Emit("s-1", 1));
        await host.SendAsync(new Touch("o-1"));

        Assert.Single(probe.SeenBy(nameof(RecordingHandler)));
        Assert.Single(probe.SeenBy(nameof(SecondRecordingHandler)));
        Assert.Equal("other", Assert.Single(probe.SeenBy(nameof(TouchedHandler))).Envelope.AggregateType);
        Assert.Equal(["stream", "other"], probe.SeenBy(nameof(AnyEventRecorder)).Select(s => s.Envelope.AggregateType));
    }

    [Fact]
    public async Task Should_only_deliver_events_whose_origin_stream_matches_the_source_stream()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d
            .AddHandler<RecordingHandler>(h => h.SourceStream = "manage_order")
            .AddHandler<SecondRecordingHandler>());
        await using var _ = host;

        await host.SendAsync(new Emit("src", 1), new CommandMetadata(OriginStream: "manage_order"));
        await host.SendAsync(new Emit("src", 1), new CommandMetadata(OriginStream: "bulk_import"));
        await host.SendAsync(new Emit("src", 1));

        Assert.Equal("manage_order", Assert.Single(probe.SeenBy(nameof(RecordingHandler))).Envelope.OriginStream);
        Assert.Equal(3, probe.SeenBy(nameof(SecondRecordingHandler)).Count);
    }

    [Fact]
    public void Should_refuse_at_startup_a_handler_of_an_unregistered_event_type()
    {
        var builder = new ActorEventsDomainBuilder().AddAggregate<OtherAggregate>().AddHandler<RecordingHandler>();

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains(nameof(Emitted), error.Message);
        Assert.Contains("not a registered event type", error.Message);
    }

    [Fact]
    public void Should_refuse_the_same_handler_registered_twice()
    {
        var builder = new ActorEventsDomainBuilder().AddAggregate<StreamAggregate>().AddHandler<RecordingHandler>().AddHandler<RecordingHandler>();

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("already registered", error.Message);
    }

    [Fact]
    public void Should_refuse_a_class_that_handles_nothing()
    {
        var builder = new ActorEventsDomainBuilder().AddAggregate<StreamAggregate>().AddHandler<HandlerProbe>();

        Assert.Throws<InvalidOperationException>(() => builder.Build());
    }

    [Fact]
    public void Should_match_handlers_by_type_category_and_source_stream()
    {
        var domain = new ActorEventsDomainBuilder().AddAggregate<StreamAggregate>().AddAggregate<OtherAggregate>()
            .AddHandler<RecordingHandler>(h => h.StreamCategory = "stream")
            .AddHandler<SecondRecordingHandler>(h => h.SourceStream = "x")
            .AddHandler<AnyEventRecorder>(h => h.PartOf = "other")
            .Build();
        static EventEnvelope Envelope(string type, IEvent e, string? origin) =>
            new("id", "n", 1, DateTimeOffset.UtcNow, "node", type, "a", 1, "c", "c", origin, e);

        Assert.Equal([nameof(RecordingHandler)], domain.Handlers.Match(Envelope("stream", new Emitted("a", 1), null)).Select(h => h.Name));
        Assert.Equal([nameof(RecordingHandler), nameof(SecondRecordingHandler)],
            domain.Handlers.Match(Envelope("stream", new Emitted("a", 1), "x")).Select(h => h.Name));
        Assert.Equal([nameof(AnyEventRecorder)], domain.Handlers.Match(Envelope("other", new Touched("a"), null)).Select(h => h.Name));
    }
}
