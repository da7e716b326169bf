using System.CommandLine;
using Akka.Actor;
using System.Text.Json;
using System.Text.Json.Serialization;
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
/// <param name="CommandType">The command's type name.</param>
/// <param name="Duplicate">True when the final reply was a duplicate acceptance (a retry with the same id found the command applied).</param>
/// <param name="Attempts">How many times the command was sent with this id.</param>
/// <param name="Replies">The reply to every attempt, in order: a rejection code, <c>Accepted</c> or <c>Duplicate</c>.</param>
public sealed record AcknowledgedCommand(
    string CommandId, string Stream, IReadOnlyList<AcknowledgedEvent> Events,
    string? CommandType = null, bool Duplicate = false, int Attempts = 1, IReadOnlyList<string>? Replies = null);

/// <summary>One event of an acknowledged command.</summary>
/// <param name="EventId">Event id.</param>
/// <param name="SequenceNr">Sequence number in its stream.</param>
public sealed record AcknowledgedEvent(string EventId, long SequenceNr);

/// <summary>One command whose final reply was a rejection, as <c>load --reject-log</c> records it (one JSON object per line).</summary>
/// <param name="CommandId">The command id (the causation id its events would have).</param>
/// <param name="CommandType">The command's type name.</param>
/// <param name="Stream">The aggregate's stream (persistence id).</param>
/// <param name="Code">The rejection code of the final reply.</param>
/// <param name="Message">The message of the final reply.</param>
/// <param name="Attempts">How many times the command was sent with this id.</param>
/// <param name="Replies">The reply to every attempt, in order (rejection codes).</param>
public sealed record RejectedCommand(
    string CommandId, string CommandType, string Stream,
    [property: JsonConverter(typeof(JsonStringEnumConverter<RejectionCode>))] RejectionCode Code,
    string Message, int Attempts, IReadOnlyList<string> Replies);

/// <summary>
/// <c>load</c>: a node that sends a steady stream of orders (place, then ship, process and ship, or cancel) through its
/// own mediator, after adding enough stock to five fixed SKUs for every order of the run (so the in-request
/// <c>StockOnShipmentHandler</c> is never refused for lack of stock). Every command's final outcome goes to exactly one of
/// two files, one flushed JSON line each: <c>--ack-log</c> (acknowledged, with its persisted events) and
/// <c>--reject-log</c> (rejected, with its code) — the record a fault test checks the journal against. With
/// <c>--retry-unknown</c> a command answered <see cref="RejectionCode.Timeout"/>, <see cref="RejectionCode.OutcomeUnknown"/>
/// or <see cref="RejectionCode.AggregateUnavailable"/> is sent again with the same command id (up to
/// <c>--max-attempts</c>, <c>--retry-delay</c> apart) until a definite answer; a duplicate acceptance counts as
/// acknowledged. <c>--drain</c> waits at the end until every subscription has caught up; <c>--wait-for-members N</c> sends
/// nothing until the cluster has N members up (loads on several nodes that start together).
/// </summary>
public static class LoadJob
{
    /// <summary>The SKUs the load orders from.</summary>
    public static IReadOnlyList<string> Skus { get; } = [.. Enumerable.Range(1, 5).Select(i => $"load-sku-{i}")];

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
        var rejectLog = new Option<FileInfo?>("--reject-log") { Description = "Append every command whose final reply was a rejection to this file (JSON lines)." };
        var retryUnknown = new Option<bool>("--retry-unknown")
        {
            Description = "Send a command answered Timeout, OutcomeUnknown or AggregateUnavailable again with the same command id until it gets a definite answer.",
        };
        var maxAttempts = new Option<int>("--max-attempts") { Description = "With --retry-unknown: most sends of one command.", DefaultValueFactory = _ => 30 };
        var retryDelay = new Option<int>("--retry-delay") { Description = "With --retry-unknown: milliseconds between two sends of one command.", DefaultValueFactory = _ => 200 };
        var drain = new Option<bool>("--drain") { Description = "At the end, wait until every subscription has caught up with the journal." };
        var waitForMembers = new Option<int>("--wait-for-members")
        {
            Description = "Send nothing until the cluster has this many members up (at most 2 minutes; then exit 1 without sending).", DefaultValueFactory = _ => 1,
        };
        var load = new Command("load", "Send orders through this node's mediator and record every command's outcome (for crash and fault tests).")
        {
            orders, concurrency, ackLog, rejectLog, retryUnknown, maxAttempts, retryDelay, drain, waitForMembers,
        };
        load.TreatUnmatchedTokensAsErrors = false;
        load.SetAction((parse, _) => guarded(parse, configuration => RunAsync(console, configuration, node.Overrides(parse), new LoadSettings(
            Math.Max(0, parse.GetValue(orders)), Math.Max(1, parse.GetValue(concurrency)), parse.GetValue(ackLog), parse.GetValue(rejectLog),
            parse.GetValue(retryUnknown), Math.Max(1, parse.GetValue(maxAttempts)), TimeSpan.FromMilliseconds(Math.Max(0, parse.GetValue(retryDelay))),
            parse.GetValue(drain), Math.Max(1, parse.GetValue(waitForMembers))))));
        return load;
    }

    /// <summary>Units of each SKU that the first <paramref name="orders"/> orders of a run ship: the stock a run adds before it starts.</summary>
    /// <param name="orders">Orders of the run.</param>
    public static IReadOnlyDictionary<string, int> StockNeeded(int orders)
    {
        var needed = Skus.ToDictionary(s => s, _ => 0);
        for (var i = 0; i < orders; i++)
        {
            if (Plan(i) != OrderPlan.Cancel)
            {
                needed[Skus[i % Skus.Count]] += Quantity(i);
            }
        }

        return needed;
    }

    private static OrderPlan Plan(int i) => (i % 4) switch
    {
        0 => OrderPlan.Cancel,
        1 => OrderPlan.ProcessAndShip,
        _ => OrderPlan.Ship,
    };

    private static int Quantity(int i) => 1 + (i % 3);

    private static Task<int> RunAsync(IAnsiConsole console, string[] configurationArguments, Dictionary<string, string?> overrides, LoadSettings settings) =>
        CommandNode.RunAsync(console, configurationArguments, overrides, async host =>
        {
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            await using var acks = Open(settings.AckLog);
            await using var rejects = Open(settings.RejectLog);
            var load = new OrderLoad(host.Services.GetRequiredService<IActorEventsClient>(), acks, rejects, settings);
            if (!await ClusterMembers.WaitUntilUpAsync(host.Services.GetRequiredService<ActorSystem>(), settings.WaitForMembers, DateTime.UtcNow + MembersTimeout, stopping).ConfigureAwait(false))
            {
                console.MarkupLine($"[red]The cluster did not reach {settings.WaitForMembers} members up within {MembersTimeout.TotalMinutes:0} minutes; no orders were sent.[/]");
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(load.Summary(caughtUp: false, lag: 0), Json));
                return 1;
            }

            if (!await load.AddStockAsync(stopping).ConfigureAwait(false))
            {
                console.MarkupLine("[red]The load could not add its stock; no orders were sent.[/]");
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(load.Summary(caughtUp: false, lag: 0), Json));
                return 1;
            }

            await load.RunAsync(stopping).ConfigureAwait(false);
            var statuses = settings.Drain
                ? await host.Services.GetRequiredService<ISubscriptionsClient>().WaitUntilCaughtUpAsync(TimeSpan.FromMinutes(5), stopping).ConfigureAwait(false)
                : [];
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(load.Summary(statuses.All(s => s.LagEvents == 0), statuses.Sum(s => s.LagEvents)), Json));
            return settings.Drain && statuses.Any(s => s.LagEvents > 0) ? 1 : 0;
        });

    private static readonly TimeSpan MembersTimeout = TimeSpan.FromMinutes(2);

    private static StreamWriter? Open(FileInfo? file) =>
        file is null ? null : new StreamWriter(new FileStream(file.FullName, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };

    private enum OrderPlan
    {
        Cancel,
        ProcessAndShip,
        Ship,
    }

    private sealed record LoadSettings(
        int Orders, int Concurrency, FileInfo? AckLog, FileInfo? RejectLog, bool RetryUnknown, int MaxAttempts, TimeSpan RetryDelay, bool Drain, int WaitForMembers);

    /// <summary>The orders of one run: ids unique to the run, stock on five fixed SKUs.</summary>
    private sealed class OrderLoad(IActorEventsClient client, StreamWriter? acks, StreamWriter? rejects, LoadSettings settings)
    {
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];
        private readonly Lock _gate = new();
        private readonly Dictionary<RejectionCode, int> _rejectedByCode = [];
        private int _acknowledged;
        private int _rejected;
        private int _duplicates;
        private int _resends;

        public object Summary(bool caughtUp, long lag)
        {
            lock (_gate)
            {
                return new
                {
                    Acknowledged = _acknowledged,
                    Rejected = _rejected,
                    RejectedByCode = _rejectedByCode.OrderBy(p => p.Key).ToDictionary(p => p.Key.ToString(), p => p.Value),
                    Duplicates = _duplicates,
                    Resends = _resends,
                    CaughtUp = caughtUp,
                    Lag = lag,
                };
            }
        }

        /// <summary>
        /// Adds the stock every order of the run ships. A command answered with an unknown outcome is retried with its id
        /// (whatever <c>--retry-unknown</c> says: this is set-up), one refused as certainly not written is sent again as a new
        /// command; false when the stock could not be added.
        /// </summary>
        public async Task<bool> AddStockAsync(CancellationToken cancellationToken)
        {
            foreach (var (sku, units) in StockNeeded(settings.Orders).Where(n => n.Value > 0))
            {
                for (var attempt = 1; ; attempt++)
                {
                    var result = await SendAsync(new AddStock(sku, units), "inventory", retryUnknown: true, cancellationToken).ConfigureAwait(false);
                    if (result is CommandAccepted)
                    {
                        break;
                    }

                    if (attempt >= settings.MaxAttempts || cancellationToken.IsCancellationRequested || !CertainlyNotWritten(((CommandRejected)result).Code))
                    {
                        return false;
                    }

                    await Task.Delay(settings.RetryDelay, CancellationToken.None).ConfigureAwait(false);
                }
            }

            return true;
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, settings.Orders), new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = cancellationToken },
                    async (i, token) =>
                    {
                        var orderId = $"load-{_run}-{i}";
                        var placed = await SendAsync(new PlaceOrder(orderId, $"load-customer-{i % 7}", Skus[i % Skus.Count], Quantity(i), 2.5m + (i % 4)), "order",
                            settings.RetryUnknown, token).ConfigureAwait(false);
                        if (placed is not CommandAccepted)
                        {
                            return;
                        }

                        switch (Plan(i))
                        {
                            case OrderPlan.Cancel:
                                await SendAsync(new CancelOrder(orderId, "load"), "order", settings.RetryUnknown, token).ConfigureAwait(false);
                                break;
                            case OrderPlan.ProcessAndShip:
                                if (await SendAsync(new ProcessOrder(orderId), "order", settings.RetryUnknown, token).ConfigureAwait(false) is CommandAccepted)
                                {
                                    await SendAsync(new ShipOrder(orderId), "order", settings.RetryUnknown, token).ConfigureAwait(false);
                                }

                                break;
                            default:
                                await SendAsync(new ShipOrder(orderId), "order", settings.RetryUnknown, token).ConfigureAwait(false);
                                break;
                        }
                    }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped (Ctrl-C, SIGTERM): what was answered is logged.
            }
        }

        private static bool MaybeWritten(RejectionCode code) => code is RejectionCode.Timeout or RejectionCode.OutcomeUnknown;

        private static bool CertainlyNotWritten(RejectionCode code) => !MaybeWritten(code);

        private static bool Retryable(RejectionCode code) => MaybeWritten(code) || code == RejectionCode.AggregateUnavailable;

        /// <summary>Sends one command (again with the same id while its outcome is unknown, when asked to) and logs its final outcome.</summary>
        private async Task<CommandResult> SendAsync(ICommand command, string aggregate, bool retryUnknown, CancellationToken cancellationToken)
        {
            var commandId = Guid.CreateVersion7().ToString("N");
            var replies = new List<string>();
            while (true)
            {
                var result = await client.SendAsync(command, new CommandMetadata(commandId), CancellationToken.None).ConfigureAwait(false);
                replies.Add(result switch
                {
                    CommandAccepted { Duplicate: true } => "Duplicate",
                    CommandAccepted => "Accepted",
                    CommandRejected rejected => rejected.Code.ToString(),
                    _ => result.GetType().Name,
                });
                if (retryUnknown && result is CommandRejected { Code: var code } && Retryable(code)
                    && replies.Count < settings.MaxAttempts && !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _resends);
                    try
                    {
                        await Task.Delay(settings.RetryDelay, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // Stopped while waiting: the last reply is the final one.
                        result = Final(result, replies);
                        Record(command, aggregate, commandId, result, replies);
                        return result;
                    }

                    continue;
                }

                result = Final(result, replies);
                Record(command, aggregate, commandId, result, replies);
                return result;
            }
        }

        /// <summary>
        /// The command's outcome once it is sent no more: a last reply that says "not written by this attempt" after an
        /// earlier attempt was answered <see cref="RejectionCode.Timeout"/> or <see cref="RejectionCode.OutcomeUnknown"/> leaves
        /// the command's fate unknown (that attempt may have been written), so it is logged as <see cref="RejectionCode.OutcomeUnknown"/>.
        /// </summary>
        private static CommandResult Final(CommandResult last, List<string> replies) =>
            last is CommandRejected { Code: var code } && !MaybeWritten(code)
                && replies.Take(replies.Count - 1).FirstOrDefault(r => Enum.TryParse<RejectionCode>(r, out var earlier) && MaybeWritten(earlier)) is { } maybe
                ? new CommandRejected(RejectionCode.OutcomeUnknown,
                    $"Gave up after {replies.Count} attempts, the last answered {code}; an earlier attempt was answered {maybe} and may have been written.")
                {
                    CommandId = last.CommandId,
                }
                : last;

        private void Record(ICommand command, string aggregate, string commandId, CommandResult result, List<string> replies)
        {
            var stream = StreamNames.For(aggregate, command.AggregateId);
            var commandType = command.GetType().Name;
            string line;
            StreamWriter? log;
            lock (_gate)
            {
                if (result is CommandAccepted accepted)
                {
                    _acknowledged++;
                    _duplicates += accepted.Duplicate ? 1 : 0;
                    log = acks;
                    line = JsonSerializer.Serialize(new AcknowledgedCommand(commandId, stream,
                        accepted.Events.Select(e => new AcknowledgedEvent(e.EventId, e.SequenceNr)).ToArray(), commandType, accepted.Duplicate, replies.Count, replies), Json);
                }
                else
                {
                    var rejected = (CommandRejected)result;
                    _rejected++;
                    _rejectedByCode[rejected.Code] = _rejectedByCode.GetValueOrDefault(rejected.Code) + 1;
                    log = rejects;
                    line = JsonSerializer.Serialize(new RejectedCommand(commandId, commandType, stream, rejected.Code, rejected.Message, replies.Count, replies), Json);
                }

                log?.WriteLine(line);
            }
        }
    }
}
