using System.Runtime.Serialization;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Clustering;

public interface IRelayCommand : ICommand
{
    string RelayId { get; }

    string ICommand.AggregateId => RelayId;
}

[MessageName("relay.send")]
public sealed record SendRelay(string RelayId) : IRelayCommand;

public interface IRelayEvent : IEvent;

[MessageName("relay.sent")]
public sealed record RelaySent(string RelayId, int Number) : IRelayEvent;

/// <summary>The follow-up <see cref="RelayForwarder"/> emits for every <see cref="RelaySent"/>.</summary>
[MessageName("relay.followed-up")]
public sealed record RelayFollowedUp(string RelayId, int Number) : IEvent;

public sealed record RelayState(int Sent);

public sealed class RelayAggregate : Aggregate<RelayState, IRelayCommand, IRelayEvent>
{
    public override string Name => "relay";

    public override RelayState InitialState => new(0);

    public override CommandExpectation Expect(IRelayCommand command) => CommandExpectation.Any;

    public override Decision<IRelayEvent> Decide(RelayState state, IRelayCommand command) => Decision<IRelayEvent>.Accept(new RelaySent(command.RelayId, state.Sent + 1));

    public override RelayState Apply(RelayState state, IRelayEvent @event) => new(state.Sent + 1);
}

/// <summary>Emits a follow-up for every relay and handles it.</summary>
public sealed class RelayForwarder : IHandle<RelaySent>, IHandle<RelayFollowedUp>
{
    public Task HandleAsync(RelaySent @event, EventContext context)
    {
        context.Emit(new RelayFollowedUp(@event.RelayId, @event.Number));
        return Task.CompletedTask;
    }

    public Task HandleAsync(RelayFollowedUp @event, EventContext context) => Task.CompletedTask;
}

public sealed class RelayPoisonException(string relay) : Exception($"relay {relay} is poison");

/// <summary>Fails for good on the relays whose id ends with <c>-poison</c>.</summary>
public sealed class RelayPoison : IHandle<RelaySent>
{
    public Task HandleAsync(RelaySent @event, EventContext context) =>
        @event.RelayId.EndsWith("-poison", StringComparison.Ordinal) ? throw new RelayPoisonException(@event.RelayId) : Task.CompletedTask;
}

/// <summary>
/// Three nodes that refuse every message no serializer is bound to (the default, <c>Node:RefuseUnboundMessages</c>):
/// commands entering every node for aggregates spread over all three run their in-request handlers, follow-ups and dead
/// letters included, and every reply waits for them, so every message that crossed a node was one of ActorEvents' own
/// or Akka's.
/// </summary>
public sealed class CrossNodeDispatchTests
{
    private static void RelayDomain(ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<RelayAggregate>()
            .AddMessageType<RelayFollowedUp>()
            .AddHandler<RelayForwarder>()
            .AddHandler<RelayPoison>(h => h.Retry = retry => retry.Permanent<RelayPoisonException>());

    [Fact]
    public async Task Should_run_in_request_handlers_follow_ups_and_dead_letters_for_aggregates_on_other_nodes_with_unbound_messages_refused()
    {
        using var database = TestDatabases.CreateIsolated(TestDatabases.PostgresConnectionString is null ? PersistenceProviders.Sqlite : PersistenceProviders.PostgreSql);
        var nodes = await TestCluster.StartAsync(database, 3, "relay", configureDomain: RelayDomain);
        try
        {
            var crossed = new int[nodes.Length];
            var poisoned = 0;
            for (var n = 0; n < nodes.Length; n++)
            {
                // Aggregates of their own per node: a poison aggregate's later events would be parked behind its dead letter.
                var relays = Enumerable.Range(0, 30).Select(i => i % 5 == 4 ? $"relay-{n}-{i}-poison" : $"relay-{n}-{i}").ToArray();
                poisoned += relays.Count(r => r.EndsWith("-poison", StringComparison.Ordinal));
                var node = nodes[n];
                var self = Cluster.Get(node.System).SelfAddress.ToString();
                var replies = await Task.WhenAll(relays.Select(relay => node.AcceptAsync(new SendRelay(relay))));
                foreach (var (relay, accepted) in relays.Zip(replies))
                {
                    Assert.True(accepted.HandlersCompleted, $"{relay} through node {n}: the reply did not wait for its handlers");
                    var outcomes = accepted.HandlerOutcomes.Select(o => (o.Handler, o.EventType, o.Status)).OrderBy(o => o.Handler + o.EventType, StringComparer.Ordinal).ToArray();
                    var poison = relay.EndsWith("-poison", StringComparison.Ordinal) ? HandlerStatus.DeadLettered : HandlerStatus.Succeeded;
                    Assert.Equal([("RelayForwarder", "relay.followed-up", HandlerStatus.Succeeded), ("RelayForwarder", "relay.sent", HandlerStatus.Succeeded),
                        ("RelayPoison", "relay.sent", poison)], outcomes);
                    crossed[n] += accepted.Events.Single().SourceNode == self ? 0 : 1;
                }
            }

            // Every node sent commands to aggregates that live on another node: their events crossed back to it.
            Assert.All(crossed, count => Assert.InRange(count, 1, 30));
            var deadLetters = await nodes[0].Host.Services.GetRequiredService<IDeadLetterStore>().ListAsync(new DeadLetterFilter(Handler: "RelayPoison"));
            Assert.Equal(poisoned, deadLetters.Count);
        }
        finally
        {
            await TestCluster.StopAsync(nodes);
        }
    }

    [Fact]
    public async Task Should_refuse_to_serialize_a_message_no_serializer_is_bound_to_and_carry_commands_and_answers_on_the_closed_type_map()
    {
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Settings(), RelayDomain);
        var serialization = host.System.Serialization;

        var unbound = serialization.FindSerializerFor(new NotBound("x"));
        Assert.IsType<UnboundMessageSerializer>(unbound);
        var refused = Assert.Throws<SerializationException>(() => unbound.ToBinary(new NotBound("x")));
        Assert.Contains(typeof(NotBound).FullName!, refused.Message, StringComparison.Ordinal);

        // What crosses nodes for a command: the request, and the answer with the handler outcomes; the events a handler
        // pool runs never leave the aggregate's node, so their message is bound to nothing and would be refused.
        var envelope = new EventEnvelope("e-1", "relay.sent", 1, DateTimeOffset.UtcNow, "node", "relay", "r-1", 1, "c", "k", null, new RelaySent("r-1", 1));
        var accepted = new CommandAccepted("relay", "r-1", [envelope])
        {
            CommandId = "k", HandlersCompleted = true, HandlerOutcomes = [new HandlerOutcome("RelayForwarder", "e-1", "relay.sent", HandlerStatus.Succeeded, null, 1)],
        };
        var serializer = Assert.IsType<ActorEventsSerializer>(serialization.FindSerializerFor(accepted));
        var read = Assert.IsType<CommandAccepted>(serializer.FromBinary(serializer.ToBinary(accepted), serializer.Manifest(accepted)));
        Assert.Equal(("relay.sent", new RelaySent("r-1", 1), HandlerStatus.Succeeded), (read.Events.Single().EventType, read.Events.Single().Event, read.HandlerOutcomes.Single().Status));
        Assert.IsType<ActorEventsSerializer>(serialization.FindSerializerFor(new AggregateRequest(new SendRelay("r-1"), "k", "c", null) { Pipeline = PipelineKind.Request, AwaitHandlers = true }));
        var persisted = new EventsPersisted([envelope], PipelineKind.Request, new AwaitedReply(host.System.DeadLetters, accepted, null));
        Assert.IsType<UnboundMessageSerializer>(serialization.FindSerializerFor(persisted));
    }

    [Fact]
    public async Task Should_let_unbound_messages_fall_back_to_akkas_default_when_switched_off()
    {
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Settings(new Dictionary<string, string?> { ["Node:RefuseUnboundMessages"] = "false" }), RelayDomain);

        Assert.IsNotType<UnboundMessageSerializer>(host.System.Serialization.FindSerializerFor(new NotBound("x")));
    }

    private sealed record NotBound(string Value);
}
