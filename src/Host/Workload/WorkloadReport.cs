using System.Globalization;
using ActorEvents.Messages;
using Spectre.Console;

namespace ActorEvents.Host.Workload;

/// <summary>Prints a <see cref="WorkloadSummary"/> as a few tables.</summary>
public static class WorkloadReport
{
    /// <summary>
    /// Writes what bounded the run's throughput: the request pool's slots when they were busy most of the run (with the
    /// handlers that held them longest), else the commands' own path (journal writes, and handlers waiting for the
    /// commands they send), with the in-flight limit that, with the latency, sets the rate (Little's law).
    /// </summary>
    public static void RenderLimit(IAnsiConsole console, WorkloadSummary summary, ThroughputLimit limit, string provider)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]What limits the throughput[/]").HideHeaders()
            .AddColumn(string.Empty).AddColumn(new TableColumn(string.Empty));
        table.AddRow("Handler slots", $"N = {limit.Slots} in the request pool, busy [bold]{limit.Utilization:P0}[/] of the run (mean {limit.MeanRunning:N1} running)");
        foreach (var handler in limit.Handlers.Take(3))
        {
            table.AddRow(Markup.Escape(handler.Handler), $"{handler.Runs:N0} runs × {handler.MeanMs:N1} ms = {handler.Seconds:N1} s [grey](in-request and durable)[/]");
        }

        var inFlight = summary.Latency.Mean > 0 ? summary.Concurrency / (summary.Latency.Mean / 1000) : 0;
        table.AddRow("In flight", $"at most {summary.Concurrency}; {summary.Concurrency} ÷ mean latency {summary.Latency.Mean:N1} ms = {inFlight:N0} commands/s at most " +
            $"[grey](measured {summary.CommandsPerSecond:N0})[/]");
        var verdict = limit.PoolBound
            ? $"The request pool's {limit.Slots} slots: they were busy {limit.Utilization:P0} of the run, so commands waited for a slot for their handlers" +
              (limit.Handlers.Count > 0 ? $" ({limit.Handlers[0].Handler} held them longest, {limit.Handlers[0].MeanMs:N1} ms a run)" : string.Empty) +
              ". More slots (Pipeline:MaxConcurrentEventHandlers) or shorter handlers raise it."
            : $"Not the handler slots (busy {limit.Utilization:P0}): each of the {summary.Concurrency} commands in flight waits for its own journal write on {provider}" +
              " and for its handlers, some of which send commands and wait for those writes too; the latency of that path, with the in-flight limit, sets the rate.";
        table.AddRow("[bold]Bound by[/]", Markup.Escape(verdict));
        console.Write(table);
    }

    /// <summary>Writes the summary to <paramref name="console"/>.</summary>
    public static void Render(IAnsiConsole console, WorkloadSummary summary)
    {
        console.WriteLine();
        console.Write(new Rule($"[bold]Run {Markup.Escape(summary.RunId)}[/]{(summary.Interrupted ? " [yellow](interrupted)[/]" : string.Empty)}")
            .LeftJustified());

        var commands = new Table().Border(TableBorder.Rounded).Title("[bold]Commands[/]").HideHeaders()
            .AddColumn(string.Empty).AddColumn(new TableColumn(string.Empty));
        commands.AddRow("Sent", $"{summary.Sent:N0} [grey](planned {summary.PlannedCommands:N0}, {summary.Orders:N0} orders, at most {summary.Concurrency} in flight)[/]");
        commands.AddRow("Accepted", $"[green]{summary.Accepted:N0}[/]");
        commands.AddRow("Rejected", $"[yellow]{summary.Rejected:N0}[/]");
        if (summary.Failed > 0)
        {
            commands.AddRow("Failed (threw)", $"[red]{summary.Failed:N0}[/]");
        }

        commands.AddRow("Events persisted", $"{summary.EventsPersisted + summary.FollowUpEventsPersisted:N0} " +
            $"[grey]({summary.EventsPersisted:N0} by the commands, {summary.FollowUpEventsPersisted:N0} by handlers' follow-up commands)[/]");
        commands.AddRow("Handler runs", summary.HandlerRuns.Count == 0
            ? "none"
            : string.Join(", ", summary.HandlerRuns.GroupBy(h => h.Status).OrderBy(g => g.Key).Select(g => $"{g.Sum(h => h.Count):N0} {Describe(g.Key)}")) +
              (summary.RepliesBeforeHandlersFinished > 0 ? $", [yellow]{summary.RepliesBeforeHandlersFinished:N0} replies before handlers finished[/]" : string.Empty));
        commands.AddRow("Duration", $"{summary.Elapsed.TotalSeconds:N2} s");
        commands.AddRow("Throughput", $"[bold]{summary.CommandsPerSecond:N0} commands/s[/], {summary.EventsPerSecond:N0} events/s");
        console.Write(commands);

        if (summary.HandlerRuns.Count > 0)
        {
            var statuses = summary.HandlerRuns.Select(h => h.Status).Distinct().Order().ToArray();
            var handlers = new Table().Border(TableBorder.Rounded).Title("[bold]Event handler runs[/] (request pool)").AddColumn("Handler");
            foreach (var status in statuses)
            {
                handlers.AddColumn(new TableColumn(status.ToString()).RightAligned());
            }

            foreach (var handler in summary.HandlerRuns.GroupBy(h => h.Handler))
            {
                handlers.AddRow([Markup.Escape(handler.Key), .. statuses.Select(status => $"{handler.Where(h => h.Status == status).Sum(h => h.Count):N0}")]);
            }

            console.Write(handlers);
        }

        var latency = summary.Latency;
        var latencyTable = new Table().Border(TableBorder.Rounded).Title("[bold]Latency, send to reply (ms)[/]");
        foreach (var column in new[] { "p50", "p90", "p99", "p99.9", "max", "mean" })
        {
            latencyTable.AddColumn(new TableColumn(column).RightAligned());
        }

        latencyTable.AddRow(Ms(latency.P50), Ms(latency.P90), Ms(latency.P99), Ms(latency.P999), Ms(latency.Max), Ms(latency.Mean));
        console.Write(latencyTable);

        if (summary.Rejections.Count > 0)
        {
            var rejections = new Table().Border(TableBorder.Rounded).Title("[bold]Rejected, by reason[/]")
                .AddColumn("Code").AddColumn(new TableColumn("Count").RightAligned()).AddColumn("Caused by");
            foreach (var rejection in summary.Rejections)
            {
                rejections.AddRow(
                    $"{rejection.Code} [grey]({(int)rejection.Code})[/]",
                    rejection.Count.ToString("N0", CultureInfo.CurrentCulture),
                    Markup.Escape(string.Join(", ", rejection.Scenarios.Select(s => $"{s.Scenario} {s.Count:N0}"))));
            }

            console.Write(rejections);
        }

        if (summary.EventsByType.Count > 0)
        {
            var events = new Table().Border(TableBorder.Rounded).Title("[bold]Events persisted by the commands, by type[/]")
                .AddColumn("Type").AddColumn(new TableColumn("Count").RightAligned());
            foreach (var tally in summary.EventsByType)
            {
                events.AddRow(Markup.Escape(tally.EventType), tally.Count.ToString("N0", CultureInfo.CurrentCulture));
            }

            console.Write(events);
        }

        var inventory = summary.Inventory;
        var stock = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]Inventory of the {inventory.Skus} fixed SKUs (kept across runs)[/]")
            .AddColumn(string.Empty).AddColumn(new TableColumn("Before").RightAligned()).AddColumn(new TableColumn("After").RightAligned())
            .AddColumn(new TableColumn("Change").RightAligned());
        stock.AddRow("Units on hand", $"{inventory.OnHandBefore:N0}", $"{inventory.OnHandAfter:N0}", Signed(inventory.OnHandAfter - inventory.OnHandBefore));
        stock.AddRow("Events in their streams", $"{inventory.EventsBefore:N0}", $"{inventory.EventsAfter:N0}", Signed(inventory.EventsAfter - inventory.EventsBefore));
        console.Write(stock);
        console.MarkupLine(inventory.SkusChecked == 0
            ? "[yellow]Stock ledger not checked[/] (the run was interrupted or no SKU could be verified)."
            : inventory.SkusUnbalanced == 0
                ? $"Stock ledger: [green]{inventory.SkusChecked} of {inventory.SkusSeen} SKUs balance[/] (before + restocks − shipments = after)."
                : $"Stock ledger: [red]{inventory.SkusUnbalanced} of {inventory.SkusChecked} SKUs do not balance[/].");
        if (inventory.EventsBefore == 0)
        {
            console.MarkupLine("[grey]This was the first run on this database: run it again and the stock carries over.[/]");
        }

        if (summary.Surprises > 0)
        {
            console.MarkupLine($"[red]{summary.Surprises:N0} outcome(s) contradicted the script[/], e.g.:");
            foreach (var sample in summary.SurpriseSamples)
            {
                console.MarkupLine($"  [red]•[/] {Markup.Escape(sample)}");
            }
        }

        console.MarkupLine(summary.IsBroken
            ? "[red bold]Something is broken[/] (nothing accepted, a send threw, or an outcome contradicted the script)."
            : "[green bold]OK[/]: every outcome matched the script.");
    }

    private static string Describe(HandlerStatus status) => status switch
    {
        HandlerStatus.Succeeded => "succeeded",
        HandlerStatus.Failed => "[red]failed[/]",
        HandlerStatus.DeadLettered => "[yellow]dead-lettered[/] [grey](dlq list)[/]",
        HandlerStatus.Parked => "[yellow]parked behind a dead letter[/]",
        _ => status.ToString(),
    };

    private static string Ms(double value) => value.ToString(value < 10 ? "N2" : "N1", CultureInfo.CurrentCulture);

    private static string Signed(long value) => value.ToString("+#,0;-#,0;0", CultureInfo.CurrentCulture);
}
