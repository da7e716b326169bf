using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Messages;
using Akka.Cluster;

namespace ActorEvents.Tests.Clustering;

/// <summary>
/// A rolling upgrade: two nodes on one database whose counter domains differ by one command and event type
/// (<c>counter.reset</c>, only on the new node) and one version (<c>counter.incremented</c> v1 on the old node, v2 on the new,
/// which reads v1 through its upcaster). A command the old node cannot read gets a typed rejection from the entity hosted
/// there, not a timeout; once the new node has left, the old one refuses the streams it cannot read (no recovery loop).
/// </summary>
public sealed class RollingUpgradeClusterTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static void OldDomain(ActorEventsDomainBuilder domain) => domain.AddAggregate<OldCounterAggregate>();

    private static void NewDomain(ActorEventsDomainBuilder domain) => domain
        .AddAggregate<NewCounterAggregate>()
        .Upcast<CounterIncrementedV1, CounterIncremented>(v1 => new CounterIncremented(v1.CounterId, v1.By, "before reasons"));

    [Fact]
    public async Task Should_degrade_clearly_while_two_versions_of_the_domain_run_side_by_side()
    {
        using var database = TestDatabases.CreateIsolated(TestDatabases.PostgresConnectionString is null ? Actors.Configuration.PersistenceProviders.Sqlite : Actors.Configuration.PersistenceProviders.PostgreSql);
        // Both nodes on ports the system picks: the old one joins itself, the upgraded one joins it.
        Dictionary<string, string?> Settings(string? seed)
        {
            var settings = database.Settings(new Dictionary<string, string?>
            {
                ["Aggregates:NumberOfShards"] = "30",
                ["Mediator:CommandTimeout"] = "00:00:05",
            });
            if (seed is not null)
            {
                settings["Node:SeedNodes:0"] = seed;
            }

            return settings;
        }

        await using var old = await ActorEventsTestHost.StartAsync(Settings(seed: null), OldDomain);
        var upgraded = await ActorEventsTestHost.StartAsync(Settings(old.SelfAddress), NewDomain);
        var upgradedRunning = true;
        try
        {
            await WaitUntilAsync(() => Cluster.Get(old.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 2, "the cluster forms");

            // Both versions increment: the entity's node decides, and writes its own version.
            var ids = Enumerable.Range(0, 16).Select(i => $"counter-{i}").ToArray();
            var hostedOnOld = new Dictionary<string, bool>();
            foreach (var id in ids)
            {
                var accepted = await AcceptEventuallyAsync(upgraded, new NewIncrement(id, 2));
                hostedOnOld[id] = accepted.Events[0].SourceNode == old.SelfAddress;
                Assert.Equal(hostedOnOld[id] ? 1 : 2, accepted.Events[0].SchemaVersion);
            }

            Assert.Contains(true, hostedOnOld.Values);
            Assert.Contains(false, hostedOnOld.Values);

            // A command only the new node knows, sent through it: the old node's entities answer that they cannot read it.
            foreach (var id in ids)
            {
                var result = await upgraded.SendAsync(new ResetCounter(id));
                if (hostedOnOld[id])
                {
                    var refused = Assert.IsType<CommandRejected>(result);
                    Assert.Equal(RejectionCode.UnregisteredType, refused.Code);
                    Assert.Contains("cannot read command 'counter.reset' v1", refused.Message, StringComparison.Ordinal);
                }
                else
                {
                    Assert.IsType<CounterReset>(Assert.Single(Assert.IsType<CommandAccepted>(result).Events).Event);
                }
            }

            // The new node leaves; the old one takes over its aggregates, whose streams hold counter.reset and counter.incremented v2.
            upgradedRunning = false;
            await upgraded.DisposeAsync();
            foreach (var id in ids)
            {
                if (hostedOnOld[id])
                {
                    Assert.IsType<CommandAccepted>(await SendUntilAsync(old, new OldIncrement(id, 1), r => r is CommandAccepted));
                    continue;
                }

                var refused = Assert.IsType<CommandRejected>(await SendUntilAsync(old, new OldIncrement(id, 1),
                    r => r is CommandRejected { Code: RejectionCode.UnreadableStream }));
                Assert.Contains("counter.", refused.Message, StringComparison.Ordinal);
                Assert.Equal(RejectionCode.UnreadableStream, Assert.IsType<CommandRejected>(await old.SendAsync(new OldIncrement(id, 1))).Code);
            }
        }
        finally
        {
            if (upgradedRunning)
            {
                await upgraded.DisposeAsync();
            }
        }
    }

    private static async Task<CommandAccepted> AcceptEventuallyAsync(ActorEventsTestHost host, ICommand command) =>
        (CommandAccepted)await SendUntilAsync(host, command, r => r is CommandAccepted);

    /// <summary>Sends (the same command id) until the answer is what <paramref name="done"/> wants, passing over retryable answers while shards move.</summary>
    private static async Task<CommandResult> SendUntilAsync(ActorEventsTestHost host, ICommand command, Func<CommandResult, bool> done)
    {
        var metadata = new CommandMetadata(Guid.NewGuid().ToString("N"));
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var result = await host.SendAsync(command, metadata);
            if (done(result))
            {
                return result;
            }

            if (result is not CommandRejected { Code: RejectionCode.Timeout or RejectionCode.AggregateUnavailable } || DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"{command} was answered {result}.");
            }

            await Task.Delay(200);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(100);
        }
    }
}

public interface IOldCounterCommand : ICommand
{
    string CounterId { get; }

    string ICommand.AggregateId => CounterId;
}

public interface IOldCounterEvent : IEvent;

[MessageName("counter.increment")]
public sealed record OldIncrement(string CounterId, int By) : IOldCounterCommand;

/// <summary>counter.incremented as the old node knows it (v1).</summary>
[MessageName("counter.incremented")]
public sealed record OldCounterIncremented(string CounterId, int By) : IOldCounterEvent;

public sealed record CounterState(int Value);

public sealed class OldCounterAggregate : Aggregate<CounterState, IOldCounterCommand, IOldCounterEvent>
{
    public override string Name => "counter";

    public override CounterState InitialState => new(0);

    public override CommandExpectation Expect(IOldCounterCommand command) => CommandExpectation.Any;

    public override Decision<IOldCounterEvent> Decide(CounterState state, IOldCounterCommand command) => command is OldIncrement i
        ? Decision<IOldCounterEvent>.Accept(new OldCounterIncremented(i.CounterId, i.By))
        : Decision<IOldCounterEvent>.Reject("unknown");

    public override CounterState Apply(CounterState state, IOldCounterEvent @event) =>
        @event is OldCounterIncremented i ? new CounterState(state.Value + i.By) : state;
}

public interface INewCounterCommand : ICommand
{
    string CounterId { get; }

    string ICommand.AggregateId => CounterId;
}

public interface INewCounterEvent : IEvent;

[MessageName("counter.increment")]
public sealed record NewIncrement(string CounterId, int By) : INewCounterCommand;

/// <summary>A command the old node does not know.</summary>
[MessageName("counter.reset")]
public sealed record ResetCounter(string CounterId) : INewCounterCommand;

/// <summary>counter.incremented v1, as the new node reads the old node's rows.</summary>
[MessageName("counter.incremented", Version = 1, Superseded = true)]
public sealed record CounterIncrementedV1(string CounterId, int By);

/// <summary>counter.incremented v2: with a reason.</summary>
[MessageName("counter.incremented", Version = 2)]
public sealed record CounterIncremented(string CounterId, int By, string Reason) : INewCounterEvent;

/// <summary>An event the old node does not know.</summary>
[MessageName("counter.was-reset")]
public sealed record CounterReset(string CounterId) : INewCounterEvent;

public sealed class NewCounterAggregate : Aggregate<CounterState, INewCounterCommand, INewCounterEvent>
{
    public override string Name => "counter";

    public override CounterState InitialState => new(0);

    public override CommandExpectation Expect(INewCounterCommand command) => CommandExpectation.Any;

    public override Decision<INewCounterEvent> Decide(CounterState state, INewCounterCommand command) => command switch
    {
        NewIncrement i => Decision<INewCounterEvent>.Accept(new CounterIncremented(i.CounterId, i.By, "asked")),
        ResetCounter r => Decision<INewCounterEvent>.Accept(new CounterReset(r.CounterId)),
        _ => Decision<INewCounterEvent>.Reject("unknown"),
    };

    public override CounterState Apply(CounterState state, INewCounterEvent @event) => @event switch
    {
        CounterIncremented i => new CounterState(state.Value + i.By),
        CounterReset => new CounterState(0),
        _ => state,
    };
}
