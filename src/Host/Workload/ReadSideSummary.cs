using System.Diagnostics;
using System.Globalization;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Broker;
using ActorEvents.Broker.Hosting;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace ActorEvents.Host.Workload;

/// <summary>
/// What the read side shows after a demo run: the subscriptions once they caught up (or the lag they still had), the
/// order totals and stock levels answered by their queries, and whether the stock projection agrees with the stock
/// the run's own replies reported.
/// </summary>
/// <param name="Subscriptions">Status of every subscription after the wait.</param>
/// <param name="CatchUp">How long after the last command they took to catch up (or the whole wait, if they did not).</param>
/// <param name="CaughtUp">Whether every running subscription reached the head of its source.</param>
/// <param name="Orders">Order totals per status (null when the query failed).</param>
/// <param name="Stock">Stock levels of the run's SKUs (null when the query failed).</param>
/// <param name="Shipped">The shipment ledger (null when the query failed).</param>
/// <param name="Problems">Queries that failed, and why.</param>
public sealed record ReadSideSummary(
    IReadOnlyList<SubscriptionStatus> Subscriptions,
    TimeSpan CatchUp,
    bool CaughtUp,
    OrderTotals? Orders,
    StockLevels? Stock,
    ShippedUnits? Shipped,
    IReadOnlyList<string> Problems)
{
    /// <summary>What the broker integration did on this node (null without a broker).</summary>
    public BrokerCounts? Broker { get; init; }

    /// <summary>How long the demo waits for the subscriptions after its last command.</summary>
    public static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Waits for the subscriptions of a node to catch up, then reads the sample read models through its queries.</summary>
    public static async Task<ReadSideSummary> CollectAsync(IServiceProvider node, WorkloadPlan plan)
    {
        var started = Stopwatch.GetTimestamp();
        var statuses = await node.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(CatchUpTimeout).ConfigureAwait(false);
        var catchUp = Stopwatch.GetElapsedTime(started);
        var client = node.GetRequiredService<IActorEventsClient>();
        var problems = new List<string>();
        var orders = await QueryAsync(client, new GetOrderTotals(), problems).ConfigureAwait(false);
        var stock = await QueryAsync(client, new GetStockLevels(), problems).ConfigureAwait(false);
        var shipped = await QueryAsync(client, new GetShippedUnits(), problems).ConfigureAwait(false);
        var skus = plan.Skus.ToHashSet(StringComparer.Ordinal);
        return new ReadSideSummary(statuses, catchUp,
            statuses.All(s => s.LagEvents == 0 || s.State is SubscriptionState.Paused or SubscriptionState.Disabled),
            orders, stock is null ? null : new StockLevels(stock.Skus.Where(s => skus.Contains(s.Sku)).ToArray()), shipped, problems)
        {
            Broker = await BrokerCountsAsync(node).ConfigureAwait(false),
        };
    }

    /// <summary>The broker's counts once the subscribers settled what was published (up to 10 s), or null without a broker.</summary>
    private static async Task<BrokerCounts?> BrokerCountsAsync(IServiceProvider node)
    {
        if (node.GetService<IOptions<BrokerOptions>>() is not { Value.IsConfigured: true } || node.GetService<BrokerStatistics>() is not { } statistics)
        {
            return null;
        }

        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        var counts = statistics.Snapshot();
        while (counts.Consumed + counts.Deduplicated + counts.DeadLettered + counts.Rejected < counts.Published && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100).ConfigureAwait(false);
            counts = statistics.Snapshot();
        }

        return counts;
    }

    private static async Task<T?> QueryAsync<T>(IActorEventsClient client, IQuery<T> query, List<string> problems) where T : class
    {
        var result = await client.QueryAsync(query).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            problems.Add($"{query.GetType().Name}: {error.Code}: {error.Message}");
        }

        return result.Value;
    }

    /// <summary>Writes the read side's tables after the run's summary.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="run">The run's summary (its stock ledger is compared with the projection).</param>
    public void Render(IAnsiConsole console, WorkloadSummary run)
    {
        console.Write(new Rule("[bold]Read side[/] (projections and durable subscriptions, fed from the journal)").LeftJustified());
        if (Subscriptions.All(s => s.State == SubscriptionState.Disabled))
        {
            console.MarkupLine("[grey]Subscriptions do not run on this provider (the in-memory journal has no read journal); nothing to show.[/]");
            return;
        }

        var subscriptions = new Table().Border(TableBorder.Rounded)
            .Title(CaughtUp
                ? $"[bold]Subscriptions[/] (caught up {CatchUp.TotalSeconds:N1} s after the last command)"
                : $"[bold]Subscriptions[/] [yellow](still behind after {CatchUp.TotalSeconds:N0} s)[/]")
            .AddColumn("Name").AddColumn("Source").AddColumn("State");
        foreach (var column in new[] { "Checkpoint", "Head", "Lag (events)", "Lag (s)", "Processed", "Redelivered" })
        {
            subscriptions.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var s in Subscriptions)
        {
            subscriptions.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Source),
                s.State == SubscriptionState.Running ? "[green]running[/]" : $"[yellow]{s.State.ToString().ToLowerInvariant()}[/]",
                $"{s.Checkpoint:N0}", $"{s.Head:N0}", s.LagEvents == 0 ? "0" : $"[yellow]{s.LagEvents:N0}[/]",
                s.LagSeconds.ToString("N1", CultureInfo.InvariantCulture), $"{s.EventsProcessed:N0}", $"{s.Redeliveries:N0}");
        }

        console.Write(subscriptions);

        if (Orders is { } orders)
        {
            var totals = new Table().Border(TableBorder.Rounded).Title("[bold]Orders by status[/] (order-totals)")
                .AddColumn("Status").AddColumn(new TableColumn("Orders").RightAligned()).AddColumn(new TableColumn("Value").RightAligned());
            foreach (var line in orders.ByStatus)
            {
                totals.AddRow(line.Status, $"{line.Orders:N0}", line.Amount.ToString("N2", CultureInfo.InvariantCulture));
            }

            totals.AddRow("[bold]all[/]", $"[bold]{orders.ByStatus.Sum(l => l.Orders):N0}[/]",
                $"[bold]{orders.ByStatus.Sum(l => l.Amount).ToString("N2", CultureInfo.InvariantCulture)}[/]");
            console.Write(totals);
        }

        if (Stock is { } stock)
        {
            var projected = stock.Skus.Sum(s => (long)s.OnHand);
            var ledger = run.Inventory;
            var verdict = run.Interrupted || ledger.SkusSeen != ledger.Skus || !CaughtUp
                ? "[grey](not compared: the run was interrupted or the projection is behind)[/]"
                : projected == ledger.OnHandAfter
                    ? "[green]agrees with the stock the run's replies reported[/]"
                    : $"[red]differs from the {ledger.OnHandAfter:N0} the run's replies reported[/]";
            var shipped = Shipped?.Skus.Where(s => stock.Skus.Any(k => k.Sku == s.Sku)).Sum(s => s.Units) ?? 0;
            console.MarkupLine($"Stock levels (projection stock-levels): {stock.Skus.Count} SKUs, {projected:N0} units on hand {verdict}; " +
                $"shipment ledger (durable handler): {shipped:N0} units shipped in all runs");
        }

        if (Broker is { } broker)
        {
            console.MarkupLine($"Broker (RabbitMQ): {broker.Published:N0} order.shipped notifications published (confirmed), " +
                $"{broker.Consumed:N0} consumed by the shipping-notice subscriber, {broker.Deduplicated:N0} de-duplicated, " +
                $"{broker.Requeued:N0} requeued, {broker.Rejected:N0} rejected, {broker.DeadLettered:N0} dead-lettered, {broker.Retries:N0} retries");
        }

        foreach (var problem in Problems)
        {
            console.MarkupLine($"[red]Query failed:[/] {Markup.Escape(problem)}");
        }
    }
}
