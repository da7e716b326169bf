using System.Collections.Immutable;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Supervision;

/// <summary>
/// A write that committed although the journal reported it failed (the connection dropped around COMMIT): the caller
/// is told the outcome is unknown, and the events' in-request handlers still run once — dispatched by the aggregate's
/// next incarnation after its recovery found them.
/// </summary>
public sealed class UnconfirmedWriteTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Config, output: output)
{
    private static readonly Config Config = ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.persistence.journal.plugin = "akka.persistence.journal.commit-then-fail"
        akka.persistence.journal.commit-then-fail {
          class = "{{typeof(CommitThenFailJournal).AssemblyQualifiedName}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """);

    private static readonly ActorEventsDomain Domain = new ActorEventsDomainBuilder().AddAggregate<StockAggregate>().Build();

    [Fact]
    public async Task Should_dispatch_the_events_of_a_write_reported_failed_that_did_commit_once_when_the_aggregate_comes_back()
    {
        var router = CreateTestProbe();
        var send = StartAggregate("sku-late", router);

        Assert.IsType<CommandAccepted>(await send(new AddStock("sku-late", 10), "add-10"));
        Assert.Equal("add-10", Assert.Single(router.ExpectMsg<EventsPersisted>().Events).CausationId);

        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        journal.Tell(CommitThenFailJournal.FailNextAfterCommit.Instance);
        var unknown = Assert.IsType<CommandRejected>(await send(new ReduceStock("sku-late", 4, "order-1"), "ship-1"));
        Assert.Equal(RejectionCode.OutcomeUnknown, unknown.Code);

        // The next incarnation finds the committed events and hands them to their handlers, nobody waiting.
        var late = router.ExpectMsg<EventsPersisted>(TimeSpan.FromSeconds(10));
        Assert.Null(late.Reply);
        Assert.Equal(PipelineKind.Request, late.Pipeline);
        var reduced = Assert.Single(late.Events);
        Assert.Equal("ship-1", reduced.CausationId);
        Assert.Equal(new StockReduced("sku-late", 4, "order-1", 6), reduced.Event);

        // The retry with the same id is a duplicate answered with those events, and is not dispatched again.
        var retried = await RetryWhileUnavailable(() => send(new ReduceStock("sku-late", 4, "order-1"), "ship-1"));
        var duplicate = Assert.IsType<CommandAccepted>(retried);
        Assert.True(duplicate.Duplicate);
        Assert.Equal(reduced, Assert.Single(duplicate.Events));
        router.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Should_not_dispatch_anything_for_a_write_reported_failed_that_did_not_commit()
    {
        var router = CreateTestProbe();
        var send = StartAggregate("sku-lost", router);

        Assert.IsType<CommandAccepted>(await send(new AddStock("sku-lost", 10), "add-10"));
        router.ExpectMsg<EventsPersisted>();

        Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null).Tell(CommitThenFailJournal.FailNextBeforeCommit.Instance);
        Assert.Equal(RejectionCode.OutcomeUnknown, Assert.IsType<CommandRejected>(await send(new ReduceStock("sku-lost", 4, "order-1"), "ship-1")).Code);

        var accepted = Assert.IsType<CommandAccepted>(await RetryWhileUnavailable(() => send(new AddStock("sku-lost", 1), "add-1")));
        Assert.Equal(11, Assert.IsType<StockAdded>(Assert.Single(accepted.Events).Event).OnHand);
        Assert.Equal(2, accepted.Events[0].SequenceNr);
        Assert.Equal("add-1", router.ExpectMsg<EventsPersisted>().Events[0].CausationId); // nothing for ship-1
    }

    /// <summary>A supervised inventory aggregate whose events are dispatched to <paramref name="router"/>; returns how to send it a command.</summary>
    private Func<ICommand, string, Task<CommandResult>> StartAggregate(string sku, Akka.TestKit.TestProbe router)
    {
        // The router stands in for the pipeline: it answers each command the aggregate hands it (after persist), and keeps
        // the messages for the test to expect.
        router.SetAutoPilot(new Akka.TestKit.DelegateAutoPilot((_, message) =>
        {
            if (message is EventsPersisted { Reply: { } reply })
            {
                reply.ReplyTo.Tell(reply.Accepted);
            }

            return Akka.TestKit.AutoPilot.KeepRunning;
        }));
        var aggregate = Sys.ActorOf(AggregateActor.SupervisedProps(Domain.Aggregates.Single().Definition, Domain.Types,
            new AggregateRuntimeSettings(0, 100, "test-node") { EventSink = router.Ref }, sku, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)));
        return (command, id) => aggregate.Ask<CommandResult>(new AggregateRequest(command, id, $"corr-{id}", null) { Pipeline = PipelineKind.Request }, TimeSpan.FromSeconds(5));
    }

    private static async Task<CommandResult> RetryWhileUnavailable(Func<Task<CommandResult>> send)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var result = await send();
            if (result is not CommandRejected { Code: RejectionCode.AggregateUnavailable } || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>An in-memory journal that can be told to store the next write and then report it failed (or fail it unstored).</summary>
public sealed class CommitThenFailJournal : MemoryJournal
{
    private object? _next;

    /// <inheritdoc />
    protected override bool ReceivePluginInternal(object message)
    {
        if (message is FailNextAfterCommit or FailNextBeforeCommit)
        {
            _next = message;
            return true;
        }

        return base.ReceivePluginInternal(message);
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var mode = _next;
        _next = null;
        if (mode is FailNextBeforeCommit)
        {
            throw new IOException("connection reset before the commit");
        }

        var result = await base.WriteMessagesAsync(messages, cancellationToken);
        return mode is FailNextAfterCommit ? throw new IOException("connection reset around COMMIT") : result;
    }

    /// <summary>Store the next write, then fail it.</summary>
    public sealed class FailNextAfterCommit
    {
        /// <summary>The message.</summary>
        public static readonly FailNextAfterCommit Instance = new();
    }

    /// <summary>Fail the next write without storing it.</summary>
    public sealed class FailNextBeforeCommit
    {
        /// <summary>The message.</summary>
        public static readonly FailNextBeforeCommit Instance = new();
    }
}
