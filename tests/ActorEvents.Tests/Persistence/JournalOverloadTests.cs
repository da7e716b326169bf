using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Persistence;

/// <summary>A burst that fills the journal's write queue is refused fast and typed, and does not become an outage.</summary>
public sealed class JournalOverloadTests(ITestOutputHelper output)
{
    private static readonly RejectionCode[] NotWritten = [RejectionCode.Overloaded, RejectionCode.NotPersisted, RejectionCode.AggregateUnavailable];

    [Fact]
    public async Task Should_refuse_a_burst_beyond_the_write_queue_as_Overloaded_without_opening_the_breaker_and_accept_steady_commands_right_after()
    {
        using var database = new TempSqliteDatabase();
        var settings = ActorEventsTestHost.SqliteSettings(database, new Dictionary<string, string?> { ["Mediator:CommandTimeout"] = "00:00:30" });
        var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(settings,
            extraHocon: "akka.persistence.journal.sql.buffer-size = 20\nakka.persistence.journal.sql.batch-size = 10"));
        await using var _ = host;
        var skus = Enumerable.Range(0, 200).Select(i => $"sku-burst-{i}").ToArray();
        foreach (var sku in skus)
        {
            Assert.IsType<CommandAccepted>(await host.SendAsync(new AddStock(sku, 1)));
        }

        // The burst: 2,000 commands at once, 10 per aggregate.
        var burst = await Task.WhenAll(Enumerable.Range(0, 2000).Select(async i =>
        {
            var sku = skus[i % skus.Length];
            var id = $"burst-{i}";
            return (id, sku, await host.SendAsync(new AddStock(sku, 1), new CommandMetadata(id)));
        }));
        var codes = burst.Select(b => b.Item3 is CommandRejected r ? r.Code.ToString() : "Accepted").GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("burst: " + string.Join(", ", codes.Select(c => $"{c.Key} {c.Value}")));
        Assert.True(codes.GetValueOrDefault(nameof(RejectionCode.Overloaded)) > 0, "the burst should have overflowed a write queue of 20");
        Assert.All(burst.Select(b => b.Item3).OfType<CommandRejected>(), r => Assert.Contains(r.Code, NotWritten));

        // Right after the burst, 20 commands a second for 3 s: every one is accepted (an open breaker would refuse for 30 s).
        var steady = new List<CommandResult>();
        for (var i = 0; i < 60; i++)
        {
            steady.Add(await host.SendAsync(new AddStock(skus[i], 1)));
            await Task.Delay(50);
        }

        Assert.All(steady, r => Assert.IsType<CommandAccepted>(r));

        // What was refused is not in the journal; what was accepted is, once.
        var stored = new HashSet<string>();
        foreach (var sku in skus)
        {
            foreach (var e in await JournalReader.ReadAsync(host.System, StreamNames.For("inventory", sku)))
            {
                Assert.True(stored.Add(e.CausationId), $"{e.CausationId} is in the journal twice");
            }
        }

        Assert.All(burst, b => Assert.Equal(b.Item3 is CommandAccepted, stored.Contains(b.id)));
    }
}
