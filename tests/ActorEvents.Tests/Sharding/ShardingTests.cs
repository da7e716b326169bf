using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorEvents.Tests.Sharding;

/// <summary>Sharding on the one-node cluster: a region per aggregate type, entities spread across shards.</summary>
public sealed class ShardingTests(InMemoryHostFixture fixture) : IClassFixture<InMemoryHostFixture>
{
    private const int NumberOfShards = 20; // ActorEventsTestHost.Settings

    private ActorEventsTestHost Host => fixture.Host;

    [Fact]
    public async Task Should_register_one_shard_region_per_aggregate_type()
    {
        var orders = Host.Registry.Get<AggregateRegion<OrderAggregate>>();
        var inventory = Host.Registry.Get<AggregateRegion<StockAggregate>>();

        Assert.NotEqual(orders, inventory);
        Assert.EndsWith("/system/sharding/order", orders.Path.ToStringWithoutAddress(), StringComparison.Ordinal);
        Assert.EndsWith("/system/sharding/inventory", inventory.Path.ToStringWithoutAddress(), StringComparison.Ordinal);
        Assert.Equal(orders, await ClusterSharding.Get(Host.System).ShardRegion("order").Ask<ActorIdentity>(new Identify(1))
            .ContinueWith(t => t.Result.Subject!));
    }

    [Fact]
    public async Task Should_spread_many_aggregates_across_shards_by_a_stable_hash_of_their_id()
    {
        var prefix = $"spread-{Guid.NewGuid():N}"[..15];
        var skus = Enumerable.Range(0, 60).Select(i => $"{prefix}-{i}").ToArray();
        await Task.WhenAll(skus.Select(sku => Host.AcceptAsync(new AddStock(sku, 1))));

        var region = Host.Registry.Get<AggregateRegion<StockAggregate>>();
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));

        var extractor = new AggregateMessageExtractor(NumberOfShards);
        var shardOf = state.Shards.SelectMany(s => s.EntityIds.Select(e => (Entity: e, Shard: s.ShardId))).ToDictionary(x => x.Entity, x => x.Shard);
        Assert.All(skus, sku =>
        {
            Assert.True(shardOf.ContainsKey(sku), $"{sku} is not alive in any shard");
            var request = new AggregateRequest(new AddStock(sku, 1), "c", "c", null);
            Assert.Equal(sku, extractor.EntityId(request));
            Assert.Equal(extractor.ShardId(sku, request), shardOf[sku]);
        });
        var usedShards = skus.Select(sku => shardOf[sku]).Distinct().ToArray();
        Assert.True(usedShards.Length >= NumberOfShards / 2, $"60 aggregates landed on only {usedShards.Length} shards");
        Assert.All(state.Shards, s => Assert.InRange(int.Parse(s.ShardId, System.Globalization.CultureInfo.InvariantCulture), 0, NumberOfShards - 1));

        // No inventory entity lives in the order region.
        var orderState = await Host.Registry.Get<AggregateRegion<OrderAggregate>>()
            .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(orderState.Shards.SelectMany(s => s.EntityIds), e => e.StartsWith(prefix, StringComparison.Ordinal));

        // The cluster-wide statistics (one node) agree.
        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(10));
        var regionStats = Assert.Single(stats.Regions).Value;
        Assert.True(regionStats.Stats.Count >= usedShards.Length);
        Assert.True(regionStats.Stats.Values.Sum() >= skus.Length);
    }
}

public sealed class PassivationHostFixture : InMemoryHostFixture
{
    protected override IReadOnlyDictionary<string, string?> ConfigurationOverrides => new Dictionary<string, string?>
    {
        ["Aggregates:PassivateAfter"] = "00:00:01",
    };
}

/// <summary>Idle aggregates are passivated (stopped) and come back with their state on the next command.</summary>
public sealed class PassivationTests(PassivationHostFixture fixture) : HostedTestKit(fixture.Host), IClassFixture<PassivationHostFixture>
{
    private async Task<int> LiveEntitiesAsync(IActorRef region)
    {
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.Sum(s => s.EntityIds.Count);
    }

    [Fact]
    public async Task Should_passivate_idle_aggregates_and_recover_their_state_on_the_next_command()
    {
        var region = Registry.Get<AggregateRegion<StockAggregate>>();
        var sku = $"passivate-{Guid.NewGuid():N}";
        var first = await TestHost.AcceptAsync(new AddStock(sku, 10), new CommandMetadata("cmd-first-" + sku));
        await TestHost.AcceptAsync(new ReduceStock(sku, 4, "o-1"));
        Assert.True(await LiveEntitiesAsync(region) >= 1);

        await AwaitAssertAsync(async () => Assert.Equal(0, await LiveEntitiesAsync(region)),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));

        // The next command starts the entity again; it recovers 6 on hand from its two events.
        var reduced = await TestHost.AcceptAsync(new ReduceStock(sku, 6, "o-2"));
        var envelope = Assert.Single(reduced.Events);
        Assert.Equal(new StockReduced(sku, 6, "o-2", 0), envelope.Event);
        Assert.Equal(3, envelope.SequenceNr);
        Assert.Equal(1, await LiveEntitiesAsync(region));

        // The command ids it applied before passivation were recovered too.
        var retry = await TestHost.AcceptAsync(new AddStock(sku, 10), new CommandMetadata(first.CommandId));
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Events, retry.Events);
        Assert.Equal(3, (await TestHost.ReadStreamAsync("inventory", sku)).Count);
    }
}
