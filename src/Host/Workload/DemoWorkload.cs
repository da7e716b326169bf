using System.Diagnostics;
using ActorEvents.Actors.Mediator;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.Users;
using ActorEvents.Messages;

namespace ActorEvents.Host.Workload;

/// <summary>
/// Runs a <see cref="WorkloadPlan"/> against a node through <see cref="IActorEventsClient"/>: batch after batch,
/// restock every SKU, then play every order's life and every probe with bounded concurrency; a closing restock
/// ends the run. The commands of one order are sequential (each depends on the previous outcome); different
/// orders run in parallel.
/// </summary>
public sealed class DemoWorkload
{
    // Every reply waits for the handlers of its events, whatever the node's default reply mode: so when the last
    // command is answered, the stock taken by shipment handlers is in the journal and the closing restock sees it.
    private static readonly CommandMetadata AfterHandlers = new(ReplyMode: ReplyMode.AfterHandlers);

    private readonly IActorEventsClient _client;
    private readonly WorkloadPlan _plan;
    private readonly int _concurrency;

    /// <summary>Creates the workload.</summary>
    /// <param name="client">Where commands go.</param>
    /// <param name="plan">What to send.</param>
    /// <param name="concurrency">Most order lives (and so commands) in flight at once.</param>
    public DemoWorkload(IActorEventsClient client, WorkloadPlan plan, int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _client = client;
        _plan = plan;
        _concurrency = concurrency;
    }

    /// <summary>Live tallies, safe to read while the workload runs.</summary>
    public WorkloadStatistics Statistics { get; } = new();

    /// <summary>The plan being run.</summary>
    public WorkloadPlan Plan => _plan;

    /// <summary>
    /// Sends commands that are refused without writing anything: shipping an unknown order, and taking more stock
    /// than any SKU holds from every SKU of the plan. That starts the shard coordinator, allocates the shards and
    /// recovers the SKUs from earlier runs (snapshot + events), so the measured run starts warm and a node that
    /// cannot reach its journal is caught before it. Not part of the run's statistics.
    /// </summary>
    /// <returns>How long it took, and why the node is not usable (null when every command was refused as expected).</returns>
    public async Task<(TimeSpan Elapsed, string? Problem)> WarmUpAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var warmUpId = $"{_plan.RunId}-warm-up";
        var sends = _plan.Skus
            .Select(sku => _client.SendAsync(new ReduceStock(sku, WorkloadPlan.ImpossibleQuantity, warmUpId), AfterHandlers))
            .Append(_client.SendAsync(new ShipOrder(warmUpId), AfterHandlers));
        var results = await Task.WhenAll(sends).ConfigureAwait(false);

        // A SKU from an earlier run refuses by its stock rule; a new one (first run) does not exist yet.
        var problem = results
            .Select(r => r switch
            {
                CommandRejected { Code: RejectionCode.AggregateNotFound or RejectionCode.DomainRuleViolation } => null,
                CommandRejected rejected => $"{rejected.Code}: {rejected.Message}",
                _ => "a warm-up command was accepted",
            })
            .FirstOrDefault(p => p is not null);
        return (Stopwatch.GetElapsedTime(started), problem);
    }

    /// <summary>Runs the whole plan. Cancelling stops starting new work; commands already sent are awaited.</summary>
    public async Task<WorkloadSummary> RunAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _concurrency };
        foreach (var batch in _plan.Batches)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            // Restocks first, so that the shipments of the batch find stock to take.
            await Parallel.ForEachAsync(batch.Restocks, parallel, async (item, _) =>
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    await SendAsync("restock", Expectation.Accepted, new AddStock(item.Sku, item.Quantity)).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);

            await Parallel.ForEachAsync(batch.Items, parallel, async (item, _) =>
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    await RunAsync(item).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }

        return Statistics.Summarize(_plan, _concurrency, Stopwatch.GetElapsedTime(started), cancellationToken.IsCancellationRequested);
    }

    private Task RunAsync(WorkItem item) => item switch
    {
        OrderItem order => RunOrderAsync(order),
        ProbeItem probe => RunProbeAsync(probe),
        RestockItem restock => SendAsync("restock", Expectation.Accepted, new AddStock(restock.Sku, restock.Quantity)),
        SignUpItem signUp => SendAsync("sign-up", Expectation.Accepted, new CreateUser(signUp.UserId, signUp.Email, signUp.Name)),
        _ => Task.CompletedTask,
    };

    private async Task RunOrderAsync(OrderItem order)
    {
        var place = new PlaceOrder(order.OrderId, order.CustomerId, order.Sku, order.Quantity, order.UnitPrice);
        if (!(await SendAsync("place", Expectation.Accepted, place).ConfigureAwait(false)).IsAccepted)
        {
            return;
        }

        var ship = new ShipOrder(order.OrderId);
        var rejectedAsDomainRule = Expectation.Rejected(RejectionCode.DomainRuleViolation);
        switch (order.Fate)
        {
            case OrderFate.ProcessAndShip:
                await SendAsync("process", Expectation.Accepted, new ProcessOrder(order.OrderId)).ConfigureAwait(false);
                await SendAsync("ship", Expectation.Accepted, ship).ConfigureAwait(false);
                break;
            case OrderFate.Ship:
                await SendAsync("ship", Expectation.Accepted, ship).ConfigureAwait(false);
                break;
            case OrderFate.Cancel:
                await SendAsync("cancel", Expectation.Accepted, new CancelOrder(order.OrderId, "customer changed their mind")).ConfigureAwait(false);
                break;
            case OrderFate.ProcessOnly:
                await SendAsync("process", Expectation.Accepted, new ProcessOrder(order.OrderId)).ConfigureAwait(false);
                break;
            case OrderFate.ShipTwice:
                await SendAsync("ship", Expectation.Accepted, ship).ConfigureAwait(false);
                await SendAsync("ship-twice", rejectedAsDomainRule, ship).ConfigureAwait(false);
                break;
            case OrderFate.ShipAfterCancel:
                await SendAsync("cancel", Expectation.Accepted, new CancelOrder(order.OrderId, "payment failed")).ConfigureAwait(false);
                await SendAsync("ship-cancelled", rejectedAsDomainRule, ship).ConfigureAwait(false);
                break;
            case OrderFate.PlaceTwice:
                await SendAsync("place-twice", Expectation.Rejected(RejectionCode.AggregateAlreadyExists), place).ConfigureAwait(false);
                await SendAsync("ship", Expectation.Accepted, ship).ConfigureAwait(false);
                break;
        }
    }

    private Task<CommandResult> RunProbeAsync(ProbeItem probe) => probe.Kind switch
    {
        ProbeKind.OverReduce => SendAsync("over-reduce", Expectation.Rejected(RejectionCode.DomainRuleViolation),
            new ReduceStock(probe.Sku, WorkloadPlan.ImpossibleQuantity, probe.OrderId)),
        ProbeKind.InvalidQuantity => SendAsync("invalid-quantity", Expectation.Rejected(RejectionCode.ValidationFailed),
            new PlaceOrder(probe.OrderId + "-zero", "customer-000", probe.Sku, 0, 1m)),
        ProbeKind.EmptyId => SendAsync("empty-id", Expectation.Rejected(RejectionCode.InvalidAggregateId),
            new PlaceOrder(string.Empty, "customer-000", probe.Sku, 1, 1m)),
        ProbeKind.UnknownOrder => SendAsync("unknown-order", Expectation.Rejected(RejectionCode.AggregateNotFound),
            new ShipOrder(probe.OrderId + "-never-placed")),
        ProbeKind.NegativeRestock => SendAsync("negative-restock", Expectation.Rejected(RejectionCode.ValidationFailed),
            new AddStock(probe.Sku, -3)),
        _ => throw new ArgumentOutOfRangeException(nameof(probe), probe.Kind, "Unknown probe."),
    };

    private async Task<CommandResult> SendAsync(string scenario, Expectation expectation, ICommand command)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await _client.SendAsync(command, AfterHandlers).ConfigureAwait(false);
            Statistics.Record(scenario, expectation, command, result, Stopwatch.GetElapsedTime(started));
            return result;
        }
        catch (Exception e)
        {
            Statistics.RecordFailure(scenario, command, e);
            return new CommandRejected(RejectionCode.Timeout, e.Message) { CommandId = string.Empty };
        }
    }
}
