using System.Collections.Concurrent;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Pipeline;

/// <summary>
/// A handler that ignores its cancellation token outlives its invocation timeout. The next attempt must not start while
/// it still runs: one run at a time per (handler, event), per-aggregate order intact, and its worker is counted as
/// abandoned and replaced so the pool keeps its capacity.
/// </summary>
public sealed class HandlerTimeoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_never_run_a_handler_twice_at_once_for_an_aggregate_when_it_ignores_its_token_past_the_timeout()
    {
        var probe = new ZombieProbe();
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(
            ActorEventsTestHost.Settings(new Dictionary<string, string?> { ["Pipeline:MaxConcurrentEventHandlers"] = "4" }),
            domain => domain.AddAggregate<StockAggregate>().AddHandler<TokenIgnoringHandler>(h =>
            {
                h.PartOf = "inventory";
                h.Retry = r => { r.InvocationTimeout = TimeSpan.FromMilliseconds(150); r.MaxRetries = 3; };
            }),
            services: services => services.AddSingleton(probe)));

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => host.SendAsync(new AddStock($"sku-zombie-{i % 3}", 1))));

        Assert.All(results, r => Assert.IsType<CommandAccepted>(r));
        var load = host.Host.Services.GetRequiredService<EventPipelineLoad>().Request;
        output.WriteLine($"peak per aggregate {probe.Peak}, runs {probe.Runs.Count}, events 12, abandoned {load.Abandoned}");
        Assert.Equal(1, probe.Peak); // never two runs of the handler for one aggregate at once
        Assert.Equal(12, probe.Runs.Count); // each event's slow run finished late and counted as its success: no second run
        Assert.Equal(12, probe.Runs.Distinct().Count());
        Assert.True(load.Abandoned >= 12, $"every run outlived its timeout, {load.Abandoned} abandoned");
        foreach (var sku in probe.OrderBySku)
        {
            Assert.Equal(sku.Value.Order(), sku.Value); // per-aggregate order kept
        }
    }

    /// <summary>Counts concurrent runs per aggregate, and which events ran.</summary>
    public sealed class ZombieProbe
    {
        private readonly ConcurrentDictionary<string, int> _running = new();
        private int _peak;

        public int Peak => Volatile.Read(ref _peak);

        public ConcurrentBag<string> Runs { get; } = [];

        public ConcurrentDictionary<string, ConcurrentQueue<long>> OrderBySku { get; } = new();

        public void Enter(EventEnvelope envelope)
        {
            var now = _running.AddOrUpdate(envelope.AggregateId, 1, (_, n) => n + 1);
            int peak;
            while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
            }

            OrderBySku.GetOrAdd(envelope.AggregateId, _ => new()).Enqueue(envelope.SequenceNr);
        }

        public void Leave(EventEnvelope envelope)
        {
            Runs.Add(envelope.EventId);
            _running.AddOrUpdate(envelope.AggregateId, 0, (_, n) => n - 1);
        }
    }

    /// <summary>Works 400 ms without looking at its token (its invocation timeout is 150 ms).</summary>
    public sealed class TokenIgnoringHandler(ZombieProbe probe) : IHandle<StockAdded>
    {
        public async Task HandleAsync(StockAdded @event, EventContext context)
        {
            probe.Enter(context.Envelope);
            await Task.Delay(400, CancellationToken.None);
            probe.Leave(context.Envelope);
        }
    }
}
