using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Tests.Pipeline;
using Akka.Cluster;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// Two nodes of one cluster in one process on one database (PostgreSQL when configured, otherwise a SQLite file): the
/// subscription runs on one node only, and when that node leaves, the other takes over from the checkpoint.
/// </summary>
[Collection(SubscriptionGroup.Name)]
public sealed class SubscriptionFailoverTests(ITestOutputHelper output)
{
    public static TheoryData<string> Providers => [TestDatabases.PostgresConnectionString is null ? PersistenceProviders.Sqlite : PersistenceProviders.PostgreSql];

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Should_run_a_subscription_on_one_node_and_continue_from_its_checkpoint_on_the_other_when_it_leaves(string provider)
    {
        using var database = TestDatabases.Create(provider);
        var run = Guid.NewGuid().ToString("N")[..8];
        var (subscription, probe, effects) = ($"failover-{run}", $"probe-{run}", $"effects-{run}");
        var log = new DeliveryLog();
        void Domain(Actors.Hosting.ActorEventsDomainBuilder domain) => domain
            .AddHandler<DeliveryProbeHandler>(h => { h.Name = probe; h.Delivery = HandlerDelivery.Durable; })
            .AddHandler<LedgerEffectsHandler>(h => { h.Name = effects; h.Delivery = HandlerDelivery.Durable; })
            .AddReadModelSchema<LedgerEffectsSchema>()
            .AddSubscription(subscription, s => { s.Tag = LedgerAggregate.Tag; s.Profile = "fast"; s.CheckpointEvery = 50; });

        // Both nodes on ports the system picks: the first joins itself, the second joins it.
        var nodes = new ActorEventsTestHost[2];
        nodes[0] = await LedgerHost.StartAsync(database, log, Domain, new Dictionary<string, string?>());
        nodes[1] = await LedgerHost.StartAsync(database, log, Domain, new Dictionary<string, string?> { ["Node:SeedNodes:0"] = nodes[0].SelfAddress });

        var (first, second) = (nodes[0], nodes[1]);
        var (firstAddress, secondAddress) = (first.SelfAddress, second.SelfAddress);
        try
        {
            await PipelineHost.WaitUntilAsync(() => Cluster.Get(second.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 2, "both nodes are up", TimeSpan.FromSeconds(30));
            var ledgers = Enumerable.Range(0, 10).Select(i => $"{run}-{i}").ToArray();
            await Task.WhenAll(ledgers.Select(l => second.RecordAsync(l, 30, perCommand: 10)));

            // The oldest node runs it; the other node's office reports it from there.
            var before = await second.WaitUntilCaughtUpAsync(subscription);
            Assert.Equal(firstAddress, before.Node);
            Assert.Equal(300, log.Distinct(probe, run));
            Assert.All(log.Deliveries.Where(d => d.LedgerId.StartsWith(run, StringComparison.Ordinal)), d => Assert.Equal(firstAddress, d.Node));

            // The first node leaves: the singleton hands over, the second node continues from the checkpoint.
            var leftAt = DateTime.UtcNow;
            await first.DisposeAsync();
            await Task.WhenAll(ledgers.Select(l => second.RecordAsync(l, 20, perCommand: 10)));
            var after = await second.WaitUntilCaughtUpAsync(subscription, TimeSpan.FromSeconds(60));
            Assert.Equal(secondAddress, after.Node);

            var mine = log.Deliveries.Where(d => d.Handler == probe && d.LedgerId.StartsWith(run, StringComparison.Ordinal)).ToArray();
            var onFirst = mine.Where(d => d.Node == firstAddress).ToArray();
            var onSecond = mine.Where(d => d.Node == secondAddress).ToArray();
            var again = onSecond.Count(d => onFirst.Any(f => f.EventId == d.EventId));
            output.WriteLine($"failover ({provider}): {onFirst.Length} deliveries on the first node, {onSecond.Length} on the second " +
                $"({again} of them redelivered), checkpoint {before.Checkpoint} → {after.Checkpoint}");
            Assert.Equal(500, mine.Select(d => d.EventId).Distinct().Count());
            Assert.True(onFirst.Max(d => d.At) <= onSecond.Min(d => d.At), "the two nodes never handled the stream at the same time");
            Assert.True(onFirst.Max(d => d.At) <= leftAt.AddSeconds(30));
            Assert.Equal(0, again); // a graceful hand-over stores the last position before the next node starts
            Assert.All(await second.EffectRowsAsync(effects, run), row => Assert.Equal((50L, 50L), (row.Applied, row.AmountSum)));
        }
        finally
        {
            foreach (var node in nodes.Reverse())
            {
                try
                {
                    await node.DisposeAsync();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }
}
