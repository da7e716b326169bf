using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Persistence;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.TestKit;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Supervision;

/// <summary>
/// The Xunit2 flavour of Akka.Persistence.TestKit's <c>PersistenceTestKit</c> (the 1.5.74 package ships only the
/// test journal and snapshot store; its base class lives in a package the mirror lacks): an ActorSystem whose
/// journal and snapshot store can be told to fail or reject, with the same <c>WithJournalWrite</c> /
/// <c>WithJournalRecovery</c> helpers.
/// </summary>
public abstract class PersistenceFaultTestKit : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config TestPersistence = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.test"
            auto-start-journals = ["akka.persistence.journal.test"]
            test {
              class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
              plugin-dispatcher = "akka.actor.default-dispatcher"
            }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.test"
            auto-start-snapshot-stores = ["akka.persistence.snapshot-store.test"]
            test {
              class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
              plugin-dispatcher = "akka.actor.default-dispatcher"
            }
          }
        }
        """);

    protected PersistenceFaultTestKit(ITestOutputHelper output)
        : base(TestPersistence, output: output)
    {
        Journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
    }

    protected ITestJournal Journal { get; }

    protected async Task WithJournalWrite(Func<JournalWriteBehavior, Task> behavior, Func<Task> execution)
    {
        try
        {
            await behavior(Journal.OnWrite);
            await execution();
        }
        finally
        {
            await Journal.OnWrite.Pass();
        }
    }

    protected async Task WithJournalRecovery(Func<JournalRecoveryBehavior, Task> behavior, Func<Task> execution)
    {
        try
        {
            await behavior(Journal.OnRecovery);
            await execution();
        }
        finally
        {
            await Journal.OnRecovery.Pass();
        }
    }
}

/// <summary>Journal write failures, rejections and recovery failures of one aggregate under its backoff supervisor.</summary>
public sealed class JournalFailureTests : PersistenceFaultTestKit
{
    private readonly ITestOutputHelper output;

    public JournalFailureTests(ITestOutputHelper output)
        : base(output)
    {
        this.output = output;
    }

    private static readonly ActorEventsDomain Domain = new ActorEventsDomainBuilder().AddAggregate<StockAggregate>().Build();
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private int _commands;

    private IActorRef StartAggregate(string sku, TimeSpan minBackoff, TimeSpan? maxBackoff = null) =>
        Sys.ActorOf(AggregateActor.SupervisedProps(Domain.Aggregates.Single().Definition, Domain.Types, new AggregateRuntimeSettings(0, 32, "test-node"), sku,
            minBackoff, maxBackoff ?? minBackoff * 4));

    private static Task<CommandResult> SendAsync(IActorRef aggregate, ICommand command, string commandId) =>
        aggregate.Ask<CommandResult>(new AggregateRequest(command, commandId, $"corr-{commandId}", null), AskTimeout);

    private async Task<CommandResult> SendAsync(IActorRef aggregate, ICommand command) => await SendAsync(aggregate, command, $"cmd-{++_commands}");

    /// <summary>
    /// Sends until the aggregate answers with something other than AggregateUnavailable (it is restarting meanwhile).
    /// Counts the sends that got no answer at all (lost to DeadLetters in a stopping or failing entity).
    /// </summary>
    private static async Task<(CommandResult Result, int Unavailable, int Lost)> SendUntilAvailableAsync(IActorRef aggregate, ICommand command, string commandId)
    {
        var (unavailable, lost) = (0, 0);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            CommandResult result;
            try
            {
                result = await aggregate.Ask<CommandResult>(new AggregateRequest(command, commandId, $"corr-{commandId}", null), TimeSpan.FromSeconds(1));
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
                lost++;
                continue;
            }

            if (result is not CommandRejected { Code: RejectionCode.AggregateUnavailable } || DateTime.UtcNow > deadline)
            {
                return (result, unavailable, lost);
            }

            unavailable++;
            await Task.Delay(20);
        }
    }

    /// <summary>What the journal holds: (journal sequence number, envelope) pairs.</summary>
    private async Task<IReadOnlyList<(long JournalSequenceNr, EventEnvelope Envelope)>> JournalOf(string sku)
    {
        var completion = new TaskCompletionSource<IReadOnlyList<(long, EventEnvelope)>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Sys.ActorOf(Props.Create(() => new SequenceReader(StreamNames.For("inventory", sku), completion)));
        return await completion.Task.WaitAsync(AskTimeout);
    }

    [Fact]
    public async Task Should_reject_a_write_the_journal_rolled_back_as_NotPersisted_not_as_a_timeout_and_come_back_with_intact_state()
    {
        var aggregate = StartAggregate("sku-write", TimeSpan.FromMilliseconds(100));
        Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-write", 10)));
        var entity = await ChildOf(aggregate);
        Watch(entity);

        CommandResult failed = null!;
        await WithJournalWrite(w => w.SetInterceptorAsync(new ThrowingInterceptor(
            new JournalWriteRolledBackException("rolled back", new InvalidOperationException("disk I/O error")))),
            async () => failed = await SendAsync(aggregate, new AddStock("sku-write", 5), "add-5"));

        var rejected = Assert.IsType<CommandRejected>(failed);
        Assert.Equal(RejectionCode.NotPersisted, rejected.Code);
        Assert.Equal("add-5", rejected.CommandId);

        // The entity stopped (Akka stops a persistent actor whose write failed); its supervisor restarts it.
        ExpectTerminated(entity);
        await Task.Delay(50); // let the supervisor see the termination too: a message forwarded to the dead entity would be lost
        var (next, unavailable, lost) = await SendUntilAvailableAsync(aggregate, new ReduceStock("sku-write", 3, "order-1"), "reduce-3");
        Assert.Equal(0, lost);
        var accepted = Assert.IsType<CommandAccepted>(next);
        var reduced = Assert.Single(accepted.Events);
        Assert.Equal(new StockReduced("sku-write", 3, "order-1", 7), reduced.Event); // 10 - 3: the failed +5 was not applied
        Assert.Equal(2, reduced.SequenceNr);
        Assert.NotEqual(entity, await ChildOf(aggregate));
        output.WriteLine($"{unavailable} AggregateUnavailable replies while the entity restarted");

        // The failed command can be retried with the same id: nothing of it was persisted, so it is not a duplicate.
        var retried = Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-write", 5), "add-5"));
        Assert.False(retried.Duplicate);
        Assert.Equal(12, Assert.IsType<StockAdded>(Assert.Single(retried.Events).Event).OnHand);

        var journal = await JournalOf("sku-write");
        Assert.Equal([1L, 2L, 3L], journal.Select(j => j.JournalSequenceNr));
        Assert.Equal([1L, 2L, 3L], journal.Select(j => j.Envelope.SequenceNr));
        Assert.Equal([10, 7, 12], journal.Select(j => j.Envelope.Event switch { StockAdded a => a.OnHand, StockReduced r => r.OnHand, _ => -1 }));
    }

    [Fact]
    public async Task Should_answer_a_failed_write_the_journal_cannot_classify_as_OutcomeUnknown_and_apply_the_retry_with_the_same_id_once()
    {
        var aggregate = StartAggregate("sku-unknown", TimeSpan.FromMilliseconds(100));
        Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-unknown", 10)));
        var entity = await ChildOf(aggregate);
        Watch(entity);

        CommandResult failed = null!;
        await WithJournalWrite(w => w.Fail(), async () => failed = await SendAsync(aggregate, new AddStock("sku-unknown", 5), "add-5"));

        // The test journal's failure says nothing about the write: the reply must not claim "nothing was persisted".
        var rejected = Assert.IsType<CommandRejected>(failed);
        Assert.Equal(RejectionCode.OutcomeUnknown, rejected.Code);
        Assert.Contains("same command id", rejected.Message);
        Assert.DoesNotContain("nothing was persisted", rejected.Message);
        ExpectTerminated(entity);

        var (retried, _, lost) = await SendUntilAvailableAsync(aggregate, new AddStock("sku-unknown", 5), "add-5");
        Assert.Equal(0, lost);
        Assert.Equal(15, Assert.IsType<StockAdded>(Assert.Single(Assert.IsType<CommandAccepted>(retried).Events).Event).OnHand);
        var again = Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-unknown", 5), "add-5"));
        Assert.True(again.Duplicate);
        Assert.Equal(2, (await JournalOf("sku-unknown")).Count);
    }

    [Fact]
    public async Task Should_reject_a_refused_journal_write_as_PersistRejected_and_restart_at_once_without_a_sequence_gap()
    {
        var aggregate = StartAggregate("sku-reject", TimeSpan.FromSeconds(30)); // a backoff restart would answer AggregateUnavailable
        Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-reject", 10)));
        var entity = await ChildOf(aggregate);

        CommandResult refused = null!;
        await WithJournalWrite(w => w.Reject(), async () => refused = await SendAsync(aggregate, new AddStock("sku-reject", 5), "add-5"));

        var rejected = Assert.IsType<CommandRejected>(refused);
        Assert.Equal(RejectionCode.PersistRejected, rejected.Code);
        Assert.Equal("add-5", rejected.CommandId);

        // The entity restarts at once (no backoff, no AggregateUnavailable): the very next command is held and accepted.
        var accepted = Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new ReduceStock("sku-reject", 3, "order-1"), "reduce-3"));
        Assert.NotEqual(entity, await ChildOf(aggregate));
        var reduced = Assert.Single(accepted.Events);
        Assert.Equal(new StockReduced("sku-reject", 3, "order-1", 7), reduced.Event);

        // The rejected write left no gap: the restarted entity continues after the last stored number.
        var journal = await JournalOf("sku-reject");
        Assert.Equal(journal.Select(j => j.JournalSequenceNr), journal.Select(j => j.Envelope.SequenceNr));
        Assert.Equal([1L, 2L], journal.Select(j => j.JournalSequenceNr));
        Assert.Equal(reduced.SequenceNr, journal[^1].JournalSequenceNr);
        Assert.Equal(reduced, journal[^1].Envelope);

        // A restarted entity recovers the same state and continues after the last stored number.
        Watch(aggregate);
        aggregate.Tell(AggregateStop.Instance);
        ExpectTerminated(aggregate);
        var restarted = StartAggregate("sku-reject", TimeSpan.FromMilliseconds(100));
        var after = Assert.IsType<CommandAccepted>(await SendAsync(restarted, new AddStock("sku-reject", 1), "add-1"));
        Assert.Equal(8, Assert.IsType<StockAdded>(Assert.Single(after.Events).Event).OnHand);
        Assert.Equal(3, after.Events[0].SequenceNr);
    }

    [Fact]
    public async Task Should_accept_the_retry_of_a_create_command_whose_write_was_rejected()
    {
        var users = new ActorEventsDomainBuilder().AddAggregate<UserAggregate>().Build();
        var user = Sys.ActorOf(AggregateActor.SupervisedProps(users.Aggregates.Single().Definition, users.Types,
            new AggregateRuntimeSettings(0, 32, "test-node"), "user-1", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        var create = new AggregateRequest(new CreateUser("user-1", "ada@example.com", "Ada"), "create-1", "corr", null);

        CommandResult refused = null!;
        await WithJournalWrite(w => w.Reject(), async () => refused = await user.Ask<CommandResult>(create, AskTimeout));
        Assert.Equal(RejectionCode.PersistRejected, Assert.IsType<CommandRejected>(refused).Code);

        var retried = await user.Ask<CommandResult>(create, AskTimeout);
        Assert.True(retried is CommandAccepted, $"the retry of a create that persisted nothing should be accepted, got {retried}");
    }

    [Fact]
    public async Task Should_lose_a_command_that_waits_in_a_failing_recovery_to_dead_letters_and_answer_AggregateUnavailable_until_recovery_works()
    {
        var aggregate = StartAggregate("sku-recovery", TimeSpan.FromMilliseconds(300));
        Assert.IsType<CommandAccepted>(await SendAsync(aggregate, new AddStock("sku-recovery", 10)));
        Watch(aggregate);
        aggregate.Tell(AggregateStop.Instance);
        ExpectTerminated(aggregate);
        var deadLetters = CreateTestProbe();
        Sys.EventStream.Subscribe(deadLetters.Ref, typeof(Akka.Event.DeadLetter));

        IActorRef restarted = null!;
        await WithJournalRecovery(r => r.FailWithDelay(TimeSpan.FromMilliseconds(300)), async () =>
        {
            restarted = StartAggregate("sku-recovery", TimeSpan.FromMilliseconds(300));

            // Arrives while the recovery is running: Akka.Persistence stashes it, and when the recovery fails the
            // entity stops and the stash goes to DeadLetters. No reply reaches the caller.
            var during = restarted.Ask<CommandResult>(new AggregateRequest(new AddStock("sku-recovery", 1), "during-recovery", "corr", null), TimeSpan.FromSeconds(1));
            await Assert.ThrowsAsync<AskTimeoutException>(() => during);
            var lost = deadLetters.FishForMessage<Akka.Event.DeadLetter>(d => d.Message is AggregateRequest, TimeSpan.FromSeconds(1));
            Assert.Equal("during-recovery", ((AggregateRequest)lost.Message).CommandId);

            // While the supervisor waits to restart it, commands get a typed, immediate rejection.
            var sawUnavailable = false;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (!sawUnavailable && DateTime.UtcNow < deadline)
            {
                try
                {
                    var reply = await restarted.Ask<CommandResult>(new AggregateRequest(new AddStock("sku-recovery", 1), "while-down", "corr", null), TimeSpan.FromMilliseconds(700));
                    var unavailable = Assert.IsType<CommandRejected>(reply);
                    Assert.Equal(RejectionCode.AggregateUnavailable, unavailable.Code);
                    sawUnavailable = true;
                }
                catch (AskTimeoutException)
                {
                    // It reached a (re)started entity that was recovering again: lost like the first one.
                }
            }

            Assert.True(sawUnavailable, "no AggregateUnavailable while the entity was down");
        });

        // The journal recovers again: the supervisor's next restart succeeds and the state is intact.
        var (result, _, _) = await SendUntilAvailableAsync(restarted, new AddStock("sku-recovery", 1), "after-recovery");
        var accepted = Assert.IsType<CommandAccepted>(result);
        Assert.Equal(11, Assert.IsType<StockAdded>(Assert.Single(accepted.Events).Event).OnHand);
        Assert.Equal(2, accepted.Events[0].SequenceNr);
    }

    /// <summary>The entity under a backoff supervisor (its child named "aggregate").</summary>
    private async Task<IActorRef> ChildOf(IActorRef supervisor)
    {
        var identity = await Sys.ActorSelection(supervisor.Path / "aggregate").Ask<ActorIdentity>(new Identify(null), AskTimeout);
        return identity.Subject ?? throw new InvalidOperationException($"{supervisor.Path} has no running entity.");
    }

    private sealed class ThrowingInterceptor(Exception error) : IJournalInterceptor
    {
        public Task InterceptAsync(IPersistentRepresentation message) => Task.FromException(error);
    }

    private sealed class SequenceReader : ReceivePersistentActor
    {
        private readonly List<(long, EventEnvelope)> _events = [];

        public SequenceReader(string persistenceId, TaskCompletionSource<IReadOnlyList<(long, EventEnvelope)>> completion)
        {
            PersistenceId = persistenceId;
            Recover<RecoveryCompleted>(_ =>
            {
                completion.TrySetResult(_events);
                Context.Stop(Self);
            });
            Recover<Tagged>(tagged => _events.Add((LastSequenceNr, (EventEnvelope)tagged.Payload)));
            Recover<EventEnvelope>(envelope => _events.Add((LastSequenceNr, envelope)));
        }

        public override string PersistenceId { get; }

        public override Recovery Recovery => new(SnapshotSelectionCriteria.None);
    }
}
