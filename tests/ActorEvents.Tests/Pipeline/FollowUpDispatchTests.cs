using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;

namespace ActorEvents.Tests.Pipeline;

/// <summary>The pool's follow-up creation on its own: the envelope a follow-up gets, its handlers, and what is refused.</summary>
public sealed class FollowUpDispatchTests
{
    private static readonly ActorEventsDomain Domain = new ActorEventsDomainBuilder().AddAggregate<StreamAggregate>()
        .AddHandler<RecordingHandler>().AddHandler<SecondRecordingHandler>(h => h.StreamCategory = "elsewhere").Build();

    private static readonly FollowUpDispatch Dispatch = new(Domain.Types, Domain.Handlers, "node-a", maxDepth: 2);

    private static WorkItem Parent(int depth) =>
        new(7, new EventEnvelope("parent", "stream.emitted", 1, DateTimeOffset.UtcNow, "node-x", "stream", "s-1", 3, "corr", "cause", null, new Emitted("s-1", 3))
            { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
            Domain.Handlers.Find(nameof(RecordingHandler))!, depth);

    [Fact]
    public void Should_give_a_follow_up_the_parents_aggregate_and_correlation_the_parent_as_cause_and_the_handlers_the_router_would_match()
    {
        var followUp = new FollowUpEvent("child", DateTimeOffset.UtcNow, new Emitted("s-1", 4));

        var created = Dispatch.Create(Parent(depth: 1), followUp);

        Assert.Null(created.Refusal);
        var item = Assert.Single(created.Items); // the second handler takes another stream category only
        Assert.Equal(nameof(RecordingHandler), item.Handler.Name);
        Assert.Equal((7L, 2), (item.RequestId, item.Depth));
        var child = item.Envelope;
        Assert.Equal(("child", "stream", "s-1", 0L, "corr", "parent", "node-a"),
            (child.EventId, child.AggregateType, child.AggregateId, child.SequenceNr, child.CorrelationId, child.CausationId, child.SourceNode));
        Assert.Equal(Parent(1).Envelope.TraceParent, child.TraceParent);
        Assert.Equal(Domain.Handlers.Match(child), created.Items.Select(i => i.Handler));
    }

    [Fact]
    public void Should_refuse_a_follow_up_past_the_depth_limit_with_the_parents_failed_outcome()
    {
        var created = Dispatch.Create(Parent(depth: 2), new FollowUpEvent("child", DateTimeOffset.UtcNow, new Emitted("s-1", 4)));

        Assert.Empty(created.Items);
        Assert.Equal(HandlerStatus.Failed, created.Refusal!.Status);
        Assert.Contains("depth limit of 2", created.Refusal.Error);
        Assert.NotNull(created.Error);
    }

    [Fact]
    public void Should_refuse_an_unregistered_follow_up()
    {
        var created = Dispatch.Create(Parent(depth: 0), new FollowUpEvent("child", DateTimeOffset.UtcNow, new UnregisteredEvent()));

        Assert.Empty(created.Items);
        Assert.Contains("is not registered", created.Refusal!.Error);
        Assert.Null(created.Error);
    }

    [Fact]
    public void Should_wait_longer_after_each_failed_store_write_up_to_30_s()
    {
        Assert.Equal(
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
            Enumerable.Range(0, 9).Select(failures => (int)StoreWriteBackoff.After(failures).TotalMilliseconds));
    }

    private sealed record UnregisteredEvent : IEvent;
}
