using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Tests.Pipeline;

/// <summary>The pool's request tracking on its own: who is answered what, when the last item finished or the deadline passed.</summary>
public sealed class RequestTrackerTests
{
    private static readonly IActorRef Caller = new NamedRef("caller");

    private static WorkItem Item(long request, string aggregate = "a-1", long sequence = 1) =>
        new(request, new EventEnvelope($"e-{aggregate}-{sequence}", "x.happened", 1, DateTimeOffset.UtcNow, "node", "x", aggregate, sequence, "c", "k", null, null!), null!, 0);

    private static HandlerOutcome Succeeded(WorkItem item) => new("H", item.Envelope.EventId, item.Envelope.EventType, HandlerStatus.Succeeded);

    private static CommandAccepted Accepted => new("x", "a-1", []) { CommandId = "k" };

    [Fact]
    public void Should_answer_a_command_with_its_outcomes_once_its_last_item_and_follow_up_finished()
    {
        var tracker = new RequestTracker();
        var first = Item(1);
        var second = Item(1, sequence: 2);
        Assert.Null(tracker.Start(new EnqueueWork(1, [first, second], null) { Reply = new AwaitedReply(Caller, Accepted, null) }));

        tracker.Expect(1); // a follow-up of the first
        Assert.Null(tracker.Finish(1, Succeeded(first)));
        Assert.Null(tracker.Finish(1, Succeeded(second)));
        var answer = tracker.Finish(1, Succeeded(first) with { EventId = "follow-up" });

        Assert.NotNull(answer);
        Assert.Same(Caller, answer.Value.To);
        var reply = Assert.IsType<CommandAccepted>(answer.Value.Message);
        Assert.True(reply.HandlersCompleted);
        Assert.Equal(["e-a-1-1", "e-a-1-2", "follow-up"], reply.HandlerOutcomes.Select(o => o.EventId));
        Assert.Equal(0, tracker.Count);
        Assert.Null(tracker.Finish(1, Succeeded(first))); // a late outcome of a finished request answers nothing
    }

    [Fact]
    public void Should_answer_at_the_deadline_with_the_outcomes_so_far_and_not_again_when_the_rest_finish()
    {
        var tracker = new RequestTracker();
        var now = DateTimeOffset.UtcNow;
        var (slow, fast) = (Item(7), Item(7, "a-2"));
        tracker.Start(new EnqueueWork(7, [slow, fast], null) { Reply = new AwaitedReply(Caller, Accepted, now.AddSeconds(1)) });
        tracker.Finish(7, Succeeded(fast));

        Assert.Empty(tracker.Expire(now));
        Assert.Equal(now.AddSeconds(1), tracker.NextDeadline);
        var expired = Assert.Single(tracker.Expire(now.AddSeconds(1)));

        var reply = Assert.IsType<CommandAccepted>(expired.Message);
        Assert.False(reply.HandlersCompleted);
        Assert.Equal("e-a-2-1", Assert.Single(reply.HandlerOutcomes).EventId);
        Assert.Null(tracker.NextDeadline);
        Assert.Null(tracker.Finish(7, Succeeded(slow)));
    }

    [Fact]
    public void Should_report_a_dispatch_to_whoever_enqueued_it_and_track_nothing_nobody_waits_for()
    {
        var tracker = new RequestTracker();
        var item = Item(3);

        Assert.Null(tracker.Start(new EnqueueWork(2, [Item(2)], null)));
        Assert.Equal(0, tracker.Count);
        var empty = tracker.Start(new EnqueueWork(4, [], Caller));
        var nothing = Assert.IsType<DispatchCompleted>(empty!.Value.Message);
        Assert.Equal((4L, 0), (nothing.RequestId, nothing.Outcomes.Count));

        tracker.Start(new EnqueueWork(3, [item], Caller));
        tracker.Note(3, new HandlerOutcome("H", "child", "y", HandlerStatus.Failed, "not registered"));
        var done = Assert.IsType<DispatchCompleted>(tracker.Finish(3, Succeeded(item))!.Value.Message);
        Assert.Equal((3L, 2), (done.RequestId, done.Outcomes.Count));
    }

    [Fact]
    public void Should_release_a_drain_only_once_the_aggregates_last_item_ended()
    {
        var drains = new AggregateDrains();
        var (first, second, other) = (Item(1), Item(1, sequence: 2), Item(2, "a-2"));
        drains.Admitted(first);
        drains.Admitted(second);
        drains.Admitted(other);

        var drain = new DrainPools(new DrainAggregate("x", "a-1", Caller), []);
        Assert.False(drains.TryDrain(drain));
        Assert.True(drains.TryDrain(new DrainPools(new DrainAggregate("x", "a-3", Caller), [])));
        Assert.Empty(drains.Ended(first));
        Assert.Empty(drains.Ended(other));
        Assert.Same(drain, Assert.Single(drains.Ended(second)));
        Assert.Equal(0, drains.Aggregates);
        Assert.Empty(drains.Ended(second)); // an end that was not admitted changes nothing
    }

    private sealed class NamedRef(string name) : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(new Address("akka", "test")) / name;

        public override IActorRefProvider Provider => throw new NotSupportedException();
    }
}
