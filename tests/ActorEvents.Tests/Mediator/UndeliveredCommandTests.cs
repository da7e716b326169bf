using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;

namespace ActorEvents.Tests.Mediator;

public sealed class UndeliveredCommandTests
{
    [Fact]
    public async Task Should_answer_a_command_that_ends_in_dead_letters_with_AggregateUnavailable_instead_of_silence()
    {
        await using var host = await ActorEventsTestHost.StartAsync();
        var caller = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = host.System.ActorOf(Props.Create(() => new ReplyCatcher(caller)));
        var request = new AggregateRequest(new AddStock("sku-lost", 1), "cmd-lost", "corr", null);

        // What Akka does with a command stashed by an entity that stops (e.g. its recovery failed). The mediator
        // subscribes to dead letters when it starts, which may be just after the host reports started (in production
        // every AggregateRequest comes from the started mediator, so none can precede it): send until it answers.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!caller.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            host.System.DeadLetters.Tell(request, probe);
            await Task.WhenAny(caller.Task, Task.Delay(200));
        }

        var reply = Assert.IsType<CommandRejected>(await caller.Task.WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(RejectionCode.AggregateUnavailable, reply.Code);
        Assert.Equal("cmd-lost", reply.CommandId);
    }

    private sealed class ReplyCatcher : ReceiveActor
    {
        public ReplyCatcher(TaskCompletionSource<object> reply) => ReceiveAny(message => reply.TrySetResult(message));
    }
}
