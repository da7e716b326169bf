using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using ActorEvents.Tests.Clustering;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Kit;

/// <summary>Asks for a refund command for every poisoned relay; refuses relays whose id says so.</summary>
public sealed class RelayRefunds(IActorEventsClient client) : IHandle<RelaySent>, IHandleErrors
{
    public static List<string> Errors { get; } = [];

    public async Task HandleAsync(RelaySent @event, EventContext context)
    {
        if (@event.RelayId.EndsWith("-refused", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{@event.RelayId} refused");
        }

        await client.SendAsync(new SendRelay(@event.RelayId + "-refund"), context.CommandMetadata());
    }

    public Task HandleErrorAsync(Exception error, EventEnvelope envelope, EventContext context)
    {
        lock (Errors)
        {
            Errors.Add(error.Message);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Waits for the relay's release, ignoring its token (as a handler stuck on a call without one does).</summary>
public sealed class StuckRelayHandler(TaskCompletionSource release) : IHandle<RelaySent>
{
    public Task HandleAsync(RelaySent @event, EventContext context) => release.Task;
}

/// <summary>Fails on every relay, and so does its error hook.</summary>
public sealed class BrokenHookRelayHandler : IHandle<RelaySent>, IHandleErrors
{
    public Task HandleAsync(RelaySent @event, EventContext context) => throw new InvalidOperationException($"{@event.RelayId} failed");

    public Task HandleErrorAsync(Exception error, EventEnvelope envelope, EventContext context) => throw new FormatException("the hook broke too");
}

/// <summary>The TestKit users get: aggregate and handler given/when/then, and an in-process node.</summary>
public sealed class TestKitTests
{
    private static void RelayDomain(ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<RelayAggregate>().AddMessageType<RelayFollowedUp>().AddHandler<RelayForwarder>()
            .AddHandler<RelayPoison>(h => h.Retry = retry => retry.Permanent<RelayPoisonException>());

    [Fact]
    public void Should_run_an_aggregate_scenario_in_the_runtimes_order_and_report_what_does_not_hold()
    {
        var relay = AggregateScenario.For(new RelayAggregate());

        relay.Given(new RelaySent("r-1", 1)).When(new SendRelay("r-1")).Then(new RelaySent("r-1", 2)).ThenState(new RelayState(2));
        var wrong = Assert.Throws<ScenarioAssertionException>(() => relay.When(new SendRelay("r-1")).Then(new RelaySent("r-1", 5)));
        Assert.Contains("RelaySent { RelayId = r-1, Number = 1 }", wrong.Message, StringComparison.Ordinal);
        Assert.Throws<ScenarioAssertionException>(() => relay.When(new SendRelay("r-1")).ThenRejected(RejectionCode.DomainRuleViolation));
    }

    [Fact]
    public async Task Should_process_an_event_and_show_its_follow_ups_and_the_commands_it_sent()
    {
        await using var forwarder = HandlerScenario.For<RelayForwarder>(RelayDomain);
        (await forwarder.Given(new RelaySent("r-1", 3)).ProcessAsync()).ThenEmitted(new RelayFollowedUp("r-1", 3)).ThenSent();

        await using var refunds = HandlerScenario.For<RelayRefunds>(RelayDomain);
        var run = (await refunds.ProcessAsync(new RelaySent("r-2", 1), new EventSource("relay", "r-2", 7))).ThenSucceeded().ThenSent(new SendRelay("r-2-refund"));
        var sent = Assert.Single(run.Commands);
        Assert.Equal((run.Envelope.EventId + ":RelayRefunds", ReplyMode.AfterPersist), (sent.Metadata!.CommandId, sent.Metadata.ReplyMode));
        Assert.Equal(("relay", "r-2", 7L), (run.Envelope.AggregateType, run.Envelope.AggregateId, run.Envelope.SequenceNr));

        var refused = await refunds.ProcessAsync(new RelaySent("r-3-refused", 1));
        Assert.Contains("refused", refused.ThenFailed<InvalidOperationException>().Message, StringComparison.Ordinal);
        Assert.Empty(refused.Commands);
        lock (RelayRefunds.Errors)
        {
            Assert.Contains("r-3-refused refused", RelayRefunds.Errors);
        }

        Assert.Throws<ScenarioAssertionException>(() => refused.ThenSucceeded());
    }

    [Fact]
    public async Task Should_fail_a_handler_run_that_outlives_its_invocation_timeout_as_the_runtime_does_and_report_it_when_it_really_ended()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var stuck = HandlerScenario.For<StuckRelayHandler>(
            d => d.AddAggregate<RelayAggregate>().AddHandler<StuckRelayHandler>(h => h.Retry = r => r.InvocationTimeout = TimeSpan.FromMilliseconds(100)),
            s => s.AddSingleton(release));

        var running = stuck.ProcessAsync(new RelaySent("r-stuck", 1));
        await Task.Delay(300);
        // Past its timeout the run is not over: like a worker, the scenario waits for the invocation's real end.
        Assert.False(running.IsCompleted);
        release.SetException(new IOException("the call it waited on broke"));

        var run = await running;
        Assert.Equal("the call it waited on broke", run.ThenFailed<IOException>().Message);
        Assert.Empty(run.FollowUps);

        await using var timedOut = HandlerScenario.For<HandlerTimeoutProbe>(
            d => d.AddAggregate<RelayAggregate>().AddHandler<HandlerTimeoutProbe>(h => h.Retry = r => r.InvocationTimeout = TimeSpan.FromMilliseconds(50)));
        Assert.Contains("did not finish within 50 ms", (await timedOut.ProcessAsync(new RelaySent("r-slow", 1))).ThenFailed<TimeoutException>().Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_keep_the_handlers_failure_as_the_outcome_when_its_error_hook_throws_as_the_runtime_does()
    {
        await using var broken = HandlerScenario.For<BrokenHookRelayHandler>(d => d.AddAggregate<RelayAggregate>());

        var run = await broken.ProcessAsync(new RelaySent("r-hook", 1));

        Assert.Equal("r-hook failed", run.ThenFailed<InvalidOperationException>().Message);
        Assert.Equal("the hook broke too", Assert.IsType<FormatException>(run.ErrorHookFailure).Message);
    }

    [Fact]
    public async Task Should_start_an_in_process_node_that_runs_commands_handlers_and_dead_letters_like_production()
    {
        await using var node = await TestNode.StartAsync(RelayDomain);

        var accepted = await node.AcceptAsync(new SendRelay("kit-1"));
        Assert.True(accepted.HandlersCompleted);
        Assert.Equal(3, accepted.HandlerOutcomes.Count);
        var poisoned = await node.AcceptAsync(new SendRelay("kit-2-poison"));
        Assert.Contains(poisoned.HandlerOutcomes, o => o.Status == HandlerStatus.DeadLettered);
        Assert.Single(await node.Services.GetRequiredService<IDeadLetterStore>().ListAsync(new DeadLetterFilter(Handler: "RelayPoison")));

        var stored = await node.ReadStreamAsync("relay", "kit-1");
        Assert.Equal(accepted.Events, stored);
        Assert.StartsWith("akka.tcp://actor-events@127.0.0.1:", node.Address, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ScenarioAssertionException>(() => node.AcceptAsync(new SendRelay(" ")));
    }
}

/// <summary>Honours its token: cancelled at its invocation timeout.</summary>
public sealed class HandlerTimeoutProbe : IHandle<RelaySent>
{
    public Task HandleAsync(RelaySent @event, EventContext context) => Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
}
