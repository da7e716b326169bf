using System.CommandLine;
using System.Text.Json;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Host.Cli;

/// <summary>One acknowledged command, as <c>load --ack-log</c> records it (one JSON object per line).</summary>
/// <param name="CommandId">The command id (the causation id of its events).</param>
/// <param name="Stream">The aggregate's stream (persistence id).</param>
/// <param name="Events">The persisted events: id and sequence number.</param>
public sealed record AcknowledgedCommand(string CommandId, string Stream, IReadOnlyList<AcknowledgedEvent> Events);

/// <summary>One event of an acknowledged command.</summary>
/// <param name="EventId">Event id.</param>
/// <param name="SequenceNr">Sequence number in its stream.</param>
public sealed record AcknowledgedEvent(string EventId, long SequenceNr);

/// <summary>
/// <c>load</c>: a node that sends a steady stream of orders (place, then ship, process and ship, or cancel) and restocks
/// through its own mediator, and appends every acknowledged command with its persisted events to an
/// <c>--ack-log</c> file, one flushed line each — the record a crash test checks the journal against after killing the
/// process. <c>--drain</c> waits at the end until every subscription has caught up.
/// </summary>
public static class LoadJob
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Builds the <c>load</c> command.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="node">The node options shared by every command.</param>
    /// <param name="guarded">Runs a job with the configuration arguments, turning configuration errors into messages.</param>
    public static Command Create(IAnsiConsole console, NodeCommandLineOptions node, Func<ParseResult, Func<string[], Task<int>>, Task<int>> guarded)
    {
        var orders = new Option<int>("--orders") { Description = "Orders to send.", DefaultValueFactory = _ => 1000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Orders in flight at once.", DefaultValueFactory = _ => 8 };
        var ackLog = new Option<FileInfo?>("--ack-log") { Description = "Append every acknowledged command and its events to this file (JSON lines)." };
        var drain = new Option<bool>("--drain") { Description = "At the end, wait until every subscription has caught up with the journal." };
        var load = new Command("load", "Send orders through this node's mediator and record what was acknowledged (for crash tests).")
        {
            orders, concurrency, ackLog, drain,
        };
        load.TreatUnmatchedTokensAsErrors = false;
        load.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse),
            Math.Max(0, parse.GetValue(orders)), Math.Max(1, parse.GetValue(concurrency)), parse.GetValue(ackLog), parse.GetValue(drain))));
        return load;
    }

    private static Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments, Dictionary<string, string?> overrides,
        int orders, int concurrency, FileInfo? ackLog, bool drain) =>
        CommandNode.RunAsync(console, configurationArguments, overrides, async host =>
        {
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            await using var log = ackLog is null ? null : new StreamWriter(new FileStream(ackLog.FullName, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
            var load = new OrderLoad(host.Services.GetRequiredService<IActorEventsClient>(), log);
            await load.RunAsync(orders, concurrency, stopping).ConfigureAwait(false);
            var statuses = drain
                ? await host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromMinutes(5), stopping).ConfigureAwait(false)
                : [];
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(new
            {
                load.Acknowledged,
                load.Rejected,
                CaughtUp = statuses.All(s => s.LagEvents == 0),
                Lag = statuses.Sum(s => s.LagEvents),
            }, Json));
            return drain && statuses.Any(s => s.LagEvents > 0) ? 1 : 0;
        });

    /// <summary>The orders of one run: ids unique to the run, stock on five fixed SKUs.</summary>
    private sealed class OrderLoad(IActorEventsClient client, StreamWriter? log)
    {
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];
        private readonly Lock _gate = new();
        private int _acknowledged;
        private int _rejected;

        public int Acknowledged => _acknowledged;

        public int Rejected => _rejected;

        public async Task RunAsync(int orders, int concurrency, CancellationToken cancellationToken)
        {
            var skus = Enumerable.Range(1, 5).Select(i => $"load-sku-{i}").ToArray();
            foreach (var sku in skus)
            {
                await SendAsync(new AddStock(sku, 1000)).ConfigureAwait(false);
            }

            await Parallel.ForEachAsync(Enumerable.Range(0, orders), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
                async (i, _) =>
                {
                    var orderId = $"load-{_run}-{i}";
                    var placed = await SendAsync(new PlaceOrder(orderId, $"load-customer-{i % 7}", skus[i % skus.Length], 1 + (i % 3), 2.5m + (i % 4))).ConfigureAwait(false);
                    if (!placed)
                    {
                        return;
                    }

                    switch (i % 4)
                    {
                        case 0:
                            await SendAsync(new CancelOrder(orderId, "load")).ConfigureAwait(false);
                            break;
                        case 1:
                            if (await SendAsync(new ProcessOrder(orderId)).ConfigureAwait(false))
                            {
                                await SendAsync(new ShipOrder(orderId)).ConfigureAwait(false);
                            }

                            break;
                        default:
                            await SendAsync(new ShipOrder(orderId)).ConfigureAwait(false);
                            break;
                    }
                }).ConfigureAwait(false);
        }

        private async Task<bool> SendAsync(ICommand command)
        {
            var commandId = Guid.CreateVersion7().ToString("N");
            var result = await client.SendAsync(command, new CommandMetadata(commandId)).ConfigureAwait(false);
            if (result is not CommandAccepted accepted)
            {
                Interlocked.Increment(ref _rejected);
                return false;
            }

            Interlocked.Increment(ref _acknowledged);
            if (log is not null && accepted.Events.Count > 0)
            {
                var line = JsonSerializer.Serialize(new AcknowledgedCommand(commandId, accepted.Events[0].StreamName,
                    accepted.Events.Select(e => new AcknowledgedEvent(e.EventId, e.SequenceNr)).ToArray()), Json);
                lock (_gate)
                {
                    log.WriteLine(line);
                }
            }

            return true;
        }
    }
}
