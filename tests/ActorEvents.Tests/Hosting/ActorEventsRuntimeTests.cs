using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Queries;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Tests.Fixture;
using Akka.Actor;

namespace ActorEvents.Tests.Hosting;

/// <summary>The runtime parent: where a node's ActorEvents actors live, and what happens when one of them keeps failing.</summary>
public sealed class ActorEventsRuntimeTests : Akka.TestKit.Xunit2.TestKit
{
    public ActorEventsRuntimeTests()
        : base("akka.loglevel = WARNING")
    {
    }

    [Fact]
    public async Task Should_start_the_nodes_actors_as_children_of_one_runtime_parent()
    {
        await using var host = await ActorEventsTestHost.StartAsync();
        var runtime = host.Registry.Get<ActorEventsRuntime>();

        Assert.Equal("/user/actor-events", runtime.Path.ToStringWithoutAddress());
        Assert.All(new[]
        {
            host.Registry.Get<CommandMediator>(), host.Registry.Get<HandlerPool>(), host.Registry.Get<StreamingHandlerPool>(),
            host.Registry.Get<DeadLetterOffice>(), host.Registry.Get<QueryDispatcher>(), host.Registry.Get<SubscriptionOffice>(),
        }, actor => Assert.Equal(runtime.Path, actor.Path.Parent));
        Assert.IsType<Messages.CommandAccepted>(await host.SendAsync(new CreateUser("runtime-1", "r@example.com", "R")));
    }

    [Fact]
    public async Task Should_restart_a_runtime_actor_that_throws_and_stop_the_node_when_it_keeps_failing()
    {
        var runtime = ActorEventsRuntimeStart.Start(Sys);
        var child = await ActorEventsRuntimeStart.StartChildAsync(runtime, Props.Create(() => new Crashing(TestActor)), "crashing");
        ExpectMsg("started");
        Assert.Equal(child, await ActorEventsRuntimeStart.StartChildAsync(runtime, Props.Create(() => new Crashing(TestActor)), "crashing"));

        child.Tell("crash");
        ExpectMsg("started"); // restarted, the same actor
        child.Tell("ping");
        ExpectMsg("pong");

        for (var i = 0; i < ActorEventsRuntime.MaxRestarts; i++)
        {
            child.Tell("crash");
        }

        // The eleventh failure within the window stops it, and a runtime without one of its actors stops the node.
        await Sys.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(15)); // the node stops
        Assert.Same(RuntimeActorStopped.Instance, CoordinatedShutdown.Get(Sys).ShutdownReason);
    }

    private sealed class Crashing : ReceiveActor
    {
        public Crashing(IActorRef probe)
        {
            probe.Tell("started");
            Receive<string>(message => message == "crash", _ => throw new InvalidOperationException("crash"));
            Receive<string>(_ => Sender.Tell("pong"));
        }
    }
}
