using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Tests.Pipeline;

/// <summary>The node's parking coordinator on its own, with probes for the pools: who runs which follower of a taken entry.</summary>
public sealed class ParkingCoordinatorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly OrderingKey Key = new("H", "x", "a-1");

    private readonly IActorRef _coordinator;

    public ParkingCoordinatorTests()
        : base("akka.loglevel = WARNING") =>
        _coordinator = Sys.ActorOf(Props.Create(() => new ParkingCoordinator()));

    private static EventEnvelope Follower(long sequence) =>
        new($"e-{sequence}", "x.happened", 1, DateTimeOffset.UtcNow, "node", "x", "a-1", sequence, "c", "k", null, null!);

    private static readonly EventEnvelope[] Recorded = [Follower(2), Follower(3), Follower(4)];

    private string[] TakeAs(Akka.TestKit.TestProbe taker)
    {
        taker.Send(_coordinator, new TakeHere(7, Recorded, null!));
        return [.. taker.ExpectMsg<TakenHere>().ToRun.Select(f => f.EventId)];
    }

    private bool ReleaseAs(Akka.TestKit.TestProbe pool)
    {
        pool.Send(_coordinator, new ReleaseStream(Key, 7));
        var released = pool.ExpectMsg<StreamReleased>();
        Assert.Equal((Key, 7L), (released.Key, released.DeadLetterId));
        return released.TakenHere;
    }

    [Fact]
    public void Should_leave_the_followers_another_pool_holds_to_it_and_give_the_taker_the_rest()
    {
        var holder = CreateTestProbe();
        var taker = CreateTestProbe();
        holder.Send(_coordinator, new HoldFollower(7, "e-3"));

        Assert.Equal(["e-2", "e-4"], TakeAs(taker));
        Assert.True(ReleaseAs(holder)); // taken here: the holder runs everything it holds
        Assert.Equal(["e-2", "e-3", "e-4"], TakeAs(CreateTestProbe())); // nobody holds anything any more
    }

    [Fact]
    public void Should_give_the_taker_the_followers_it_holds_itself()
    {
        var taker = CreateTestProbe();
        taker.Send(_coordinator, new HoldFollower(7, "e-2"));
        taker.Send(_coordinator, new HoldFollower(7, "e-3"));

        Assert.Equal(["e-2", "e-3", "e-4"], TakeAs(taker));
    }

    [Fact]
    public void Should_not_leave_followers_to_a_pool_that_released_its_stream_before_the_take()
    {
        var holder = CreateTestProbe();
        holder.Send(_coordinator, new HoldFollower(7, "e-3"));

        Assert.False(ReleaseAs(holder)); // gone without a take here: the holder runs only what the entry did not record
        Assert.Equal(["e-2", "e-3", "e-4"], TakeAs(CreateTestProbe()));
    }

    [Fact]
    public void Should_not_leave_followers_to_a_pool_that_stopped()
    {
        var holder = CreateTestProbe();
        holder.Send(_coordinator, new HoldFollower(7, "e-3"));
        Watch(holder.Ref);
        Sys.Stop(holder.Ref);
        ExpectTerminated(holder.Ref);

        AwaitAssert(() => Assert.Equal(["e-2", "e-3", "e-4"], TakeAs(CreateTestProbe())), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Should_not_leave_followers_to_a_pool_that_joined_again_after_a_restart()
    {
        var holder = CreateTestProbe();
        holder.Send(_coordinator, JoinParking.Instance);
        holder.Send(_coordinator, new HoldFollower(7, "e-3"));
        holder.Send(_coordinator, JoinParking.Instance); // restarted: its parked streams are gone

        Assert.Equal(["e-2", "e-3", "e-4"], TakeAs(CreateTestProbe()));
    }

    [Fact]
    public void Should_pass_a_pools_resolutions_on_to_the_nodes_other_pools_only()
    {
        var resolver = CreateTestProbe();
        var other = CreateTestProbe();
        resolver.Send(_coordinator, JoinParking.Instance);
        other.Send(_coordinator, JoinParking.Instance);

        resolver.Send(_coordinator, new AnnounceResolved([7, 9]));

        Assert.Equal([7L, 9L], other.ExpectMsg<DeadLetterResolved>().DeadLetterIds);
        resolver.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
