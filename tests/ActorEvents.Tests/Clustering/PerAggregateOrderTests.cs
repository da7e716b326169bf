using System.Collections.Concurrent;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using ActorEvents.Tests.Pipeline;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Clustering;

public interface ITickCommand : ICommand
{
    string CounterId { get; }

    string ICommand.AggregateId => CounterId;
}

[MessageName("tick.count")]
public sealed record CountTick(string CounterId) : ITickCommand;

public interface ITickEvent : IEvent;

[MessageName("tick.counted")]
public sealed record TickCounted(string CounterId, int Number) : ITickEvent;

public sealed record TickState(int Count);

public sealed class TickAggregate : Aggregate<TickState, ITickCommand, ITickEvent>
{
    public override string Name => "tick";

    public override TickState InitialState => new(0);

    public override CommandExpectation Expect(ITickCommand command) => CommandExpectation.Any;

    public override Decision<ITickEvent> Decide(TickState state, ITickCommand command) => Decision<ITickEvent>.Accept(new TickCounted(command.CounterId, state.Count + 1));

    public override TickState Apply(TickState state, ITickEvent @event) => new(state.Count + 1);
}

/// <summary>Which test node a handler runs on (one per node's container).</summary>
public sealed record TestNodeIndex(int Index);

/// <summary>What the recording handler saw, across every node of the process: the start of every invocation in order, and the most running at once per node.</summary>
public sealed class TickRecording
{
    private readonly int[] _running;
    private readonly int[] _peak;

    public TickRecording(int nodes)
    {
        _running = new int[nodes];
        _peak = new int[nodes];
    }

    public static TickRecording Current { get; set; } = new(1);

    public ConcurrentQueue<(string Counter, long Sequence, int Node)> Started { get; } = new();

    public TimeSpan Work { get; init; } = TimeSpan.FromMilliseconds(2);

    public int Peak(int node) => Volatile.Read(ref _peak[node]);

    public IDisposable Run(int node)
    {
        var running = Interlocked.Increment(ref _running[node]);
        int peak;
        while (running > (peak = Volatile.Read(ref _peak[node])) && Interlocked.CompareExchange(ref _peak[node], running, peak) != peak)
        {
        }

        return new Release(() => Interlocked.Decrement(ref _running[node]));
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}

/// <summary>Records where and in which order each tick is handled; takes a little time, so that items queue.</summary>
public sealed class TickRecorder(TestNodeIndex node) : IHandle<TickCounted>
{
    public async Task HandleAsync(TickCounted @event, EventContext context)
    {
        var recording = TickRecording.Current;
        using var _ = recording.Run(node.Index);
        recording.Started.Enqueue((@event.CounterId, context.Envelope.SequenceNr, node.Index));
        await Task.Delay(recording.Work);
    }
}

/// <summary>
/// Per-aggregate order across the cluster: each aggregate's events are handled on the node it lives on, so commands for one
/// aggregate entering through different nodes reach one pool in sequence order, within that node's bound; and a shard hand-off
/// lets the moved aggregates' new events run only after their node handled the old ones.
/// </summary>
public sealed class PerAggregateOrderTests
{
    private const int Slots = 3;

    private static void TickDomain(ActorEventsDomainBuilder domain) => domain.AddAggregate<TickAggregate>().AddHandler<TickRecorder>();

    private static readonly Dictionary<string, string?> ParallelPool = new()
    {
        ["Pipeline:ConcurrentEventHandleEnable"] = "true",
        ["Pipeline:MaxConcurrentEventHandlers"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Pipeline:Ordering"] = nameof(EventOrdering.PerAggregate),
    };

    private static Task<ActorEventsTestHost[]> StartAsync(TestDatabase database, int count) =>
        TestCluster.StartAsync(database, count, "tick", configureDomain: TickDomain, settings: ParallelPool,
            services: i => services => services.AddSingleton(new TestNodeIndex(i)));

    [Fact]
    public async Task Should_handle_every_aggregates_events_in_sequence_order_within_the_node_bound_when_commands_enter_through_two_nodes()
    {
        TickRecording.Current = new TickRecording(2);
        using var database = TestDatabases.CreateIsolated(PersistenceProviders.Sqlite);
        var nodes = await StartAsync(database, 2);
        try
        {
            var counters = Enumerable.Range(0, 20).Select(i => $"order-{i}").ToArray();
            const int rounds = 8;

            // Both nodes send every round's commands to the same 20 aggregates at once: one node waits for the handlers, the other not.
            var sends = new List<Task<CommandResult>>();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var counter in counters)
                {
                    sends.Add(nodes[0].SendAsync(new CountTick(counter)));
                    sends.Add(nodes[1].SendAsync(new CountTick(counter), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist)));
                }
            }

            var results = await Task.WhenAll(sends);
            Assert.All(results, r => Assert.IsType<CommandAccepted>(r));
            var total = counters.Length * rounds * 2;
            await PipelineHost.WaitUntilAsync(() => TickRecording.Current.Started.Count >= total, "every tick is handled");

            AssertInSequenceOrder(TickRecording.Current, counters, rounds * 2);
            Assert.All(Enumerable.Range(0, 2), node => Assert.InRange(TickRecording.Current.Peak(node), 1, Slots));

            // Each aggregate was handled on one node only: the one it lives on (both nodes host some).
            var nodesOf = TickRecording.Current.Started.GroupBy(s => s.Counter).ToDictionary(g => g.Key, g => g.Select(s => s.Node).Distinct().Count());
            Assert.All(nodesOf.Values, n => Assert.Equal(1, n));
            Assert.Equal(2, TickRecording.Current.Started.Select(s => s.Node).Distinct().Count());
        }
        finally
        {
            await TestCluster.StopAsync(nodes);
        }
    }

    [Fact]
    public async Task Should_not_let_a_moved_aggregates_new_events_overtake_the_old_ones_still_queued_on_the_node_it_left()
    {
        TickRecording.Current = new TickRecording(2) { Work = TimeSpan.FromMilliseconds(100) };
        using var database = TestDatabases.CreateIsolated(PersistenceProviders.Sqlite);
        var nodes = await StartAsync(database, 2);
        try
        {
            var counters = Enumerable.Range(0, 20).Select(i => $"moved-{i}").ToArray();
            const int before = 5;
            const int after = 2;

            // A backlog on both nodes: about 50 events of 100 ms each for 3 slots (1.7 s), answered right after persist.
            var first = await Task.WhenAll(counters.SelectMany(c => Enumerable.Range(0, before)
                .Select(_ => nodes[0].SendAsync(new CountTick(c), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist)))));
            Assert.All(first, r => Assert.IsType<CommandAccepted>(r));
            var leaving = Cluster.Get(nodes[1].System).SelfAddress.ToString();
            var moved = first.OfType<CommandAccepted>().Where(a => a.Events[0].SourceNode == leaving).Select(a => a.AggregateId).Distinct().ToArray();
            Assert.NotEmpty(moved);
            Assert.True(TickRecording.Current.Started.Count < counters.Length * before, "the backlog was handled before the node left: nothing to test");

            // Node 1 leaves while its pool still holds its aggregates' events; their shards move to node 0. Every aggregate gets new
            // commands through node 0 all along, until one of them was persisted on node 0 (for the moved ones: after the hand-off).
            var stopping = nodes[1].Host.StopAsync();
            var sent = await Task.WhenAll(counters.Select(c => SendUntilPersistedOnAsync(nodes[0], c, after)));
            await stopping;

            var expected = counters.Select((c, i) => (Counter: c, Events: before + sent[i])).ToDictionary(p => p.Counter, p => p.Events);
            // Without the drain the node that left would end with some of its events never handled, and the new ones ahead of them.
            await PipelineHost.WaitUntilAsync(() => TickRecording.Current.Started.Count >= expected.Values.Sum(), "every tick is handled")
                .ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var (counter, events) in expected)
            {
                AssertInSequenceOrder(TickRecording.Current, [counter], events);
            }

            // The moved aggregates' old events ran on the node that left, their new ones on the node that stayed.
            Assert.All(moved, counter => Assert.Equal([1, 0], TickRecording.Current.Started.Where(s => s.Counter == counter).Select(s => s.Node).Distinct()));
        }
        finally
        {
            await TestCluster.StopAsync(nodes);
        }
    }

    /// <summary>
    /// Sends ticks to <paramref name="counter"/> through <paramref name="node"/>, one after another, at least <paramref name="atLeast"/> and
    /// until one was persisted on that node; retries (with the same command id) the answers that leave the outcome open while its
    /// shard moves. Returns how many were accepted.
    /// </summary>
    private static async Task<int> SendUntilPersistedOnAsync(ActorEventsTestHost node, string counter, int atLeast)
    {
        var self = Cluster.Get(node.System).SelfAddress.ToString();
        for (var sent = 1; sent <= 100; sent++)
        {
            var id = Guid.NewGuid().ToString("N");
            CommandResult result;
            var attempts = 0;
            do
            {
                result = await node.SendAsync(new CountTick(counter), new CommandMetadata(CommandId: id, ReplyMode: ReplyMode.AfterPersist));
            }
            while (result is CommandRejected && ++attempts < 50 && await Task.Delay(100).ContinueWith(_ => true));

            var accepted = Assert.IsType<CommandAccepted>(result);
            if (sent >= atLeast && accepted.Events[0].SourceNode == self)
            {
                return sent;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"{counter} was never persisted on {self}.");
    }

    /// <summary>Every aggregate's events were handled once each, 1..<paramref name="events"/>, in that order.</summary>
    private static void AssertInSequenceOrder(TickRecording recording, IEnumerable<string> counters, int events)
    {
        var byCounter = recording.Started.GroupBy(s => s.Counter).ToDictionary(g => g.Key, g => g.Select(s => s.Sequence).ToArray());
        foreach (var counter in counters)
        {
            Assert.True(byCounter.TryGetValue(counter, out var seen), $"{counter}: nothing handled");
            Assert.Equal(Enumerable.Range(1, events).Select(n => (long)n), seen);
        }
    }
}
