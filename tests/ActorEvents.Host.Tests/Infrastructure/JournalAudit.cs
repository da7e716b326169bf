using System.Globalization;
using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Host.Cli;
using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Infrastructure;

/// <summary>What the command logs of a <c>load</c> run say against what the journal holds.</summary>
/// <param name="Commands">Commands with a final outcome (lines in the two logs).</param>
/// <param name="Acknowledged">Acknowledged commands.</param>
/// <param name="Duplicates">Acknowledged commands whose final reply was a duplicate (a retry found them applied).</param>
/// <param name="RejectedByCode">Rejected commands by the code of their final reply.</param>
/// <param name="Lost">Events of acknowledged commands that are not in the journal at their acknowledged position.</param>
/// <param name="RejectedButPresent">
/// Commands answered with a code that means "certainly not written" whose events are in the journal, or whose retry was
/// answered as a duplicate although every earlier reply said "not written".
/// </param>
/// <param name="UnknownPresent">Commands whose final reply was Timeout or OutcomeUnknown and whose events are in the journal.</param>
/// <param name="UnknownAbsent">Commands whose final reply was Timeout or OutcomeUnknown and whose events are not in the journal.</param>
/// <param name="Duplicated">Command ids whose events are in the journal more than once.</param>
/// <param name="Gaps">Streams whose sequence numbers are not 1..n.</param>
/// <param name="InBothLogs">Command ids with more than one final outcome.</param>
/// <param name="Unlogged">Command ids of the load in the journal that neither log has (in flight when the process was killed).</param>
/// <param name="Events">Events in the journal.</param>
/// <param name="Replies">Every reply of every attempt, by code (<c>Accepted</c>, <c>Duplicate</c> or a rejection code): what a caller saw.</param>
/// <param name="Evidence">Command ids and codes behind every non-zero error count, for the failure message.</param>
public sealed record CommandAudit(
    int Commands, int Acknowledged, int Duplicates, IReadOnlyDictionary<RejectionCode, int> RejectedByCode,
    int Lost, int RejectedButPresent, int UnknownPresent, int UnknownAbsent, int Duplicated, int Gaps, int InBothLogs, int Unlogged, int Events,
    IReadOnlyDictionary<string, int> Replies, IReadOnlyList<string> Evidence);

/// <summary>The stock ledger of the sample domain, read from the journal and the dead-letter store.</summary>
/// <param name="Skus">SKUs with inventory events.</param>
/// <param name="UnbalancedSkus">SKUs where added − reduced + restored differs from the last stated on-hand (or an event's on-hand from the running sum).</param>
/// <param name="Shipped">OrderShipped events.</param>
/// <param name="ShippedWithoutReduction">Shipped orders without a StockReduced for their order id.</param>
/// <param name="CoveredByDeadLetter">Of those, the ones with an open dead letter of <see cref="StockOnShipmentHandler"/> for their OrderShipped event.</param>
/// <param name="DoubleReductions">Order ids reduced more than once.</param>
/// <param name="MismatchedReductions">Reductions without a shipment, or of another SKU or quantity than it shipped.</param>
/// <param name="OpenDeadLetters">Open dead letters of <see cref="StockOnShipmentHandler"/>.</param>
/// <param name="DeadLettersAlreadyReduced">Open dead letters whose order has its reduction anyway (a failed attempt that committed after all).</param>
/// <param name="Evidence">Order ids and SKUs behind every non-zero error count.</param>
public sealed record StockLedger(
    int Skus, int UnbalancedSkus, int Shipped, int ShippedWithoutReduction, int CoveredByDeadLetter, int DoubleReductions, int MismatchedReductions,
    int OpenDeadLetters, int DeadLettersAlreadyReduced, IReadOnlyList<string> Evidence)
{
    /// <summary>Shipments that have neither their reduction nor an open dead letter: silently skipped.</summary>
    public int Unaccounted => ShippedWithoutReduction - CoveredByDeadLetter;

    /// <summary>Balanced, allowing shipments whose reduction waits in the dead-letter store.</summary>
    public bool BalancedWithDeadLetters => UnbalancedSkus == 0 && Unaccounted == 0 && DoubleReductions == 0 && MismatchedReductions == 0;

    /// <summary>Balanced with every shipment reduced.</summary>
    public bool Balanced => BalancedWithDeadLetters && ShippedWithoutReduction == 0;
}

/// <summary>One open dead letter.</summary>
/// <param name="Id">Entry id.</param>
/// <param name="Handler">Handler name.</param>
/// <param name="EventId">The failed event's id.</param>
/// <param name="AggregateId">The failed event's aggregate id.</param>
public sealed record DeadLetterRow(long Id, string Handler, string EventId, string AggregateId);

/// <summary>
/// The checks of the crash and fault tests, on SQLite or PostgreSQL: the journal against the command logs (nothing
/// acknowledged lost, nothing reported "not written" present, nothing twice, no gaps), the stock ledger, and the durable
/// read models against a fold of the journal.
/// </summary>
public static class JournalAudit
{
    private static readonly JsonSerializerOptions EnvelopeJson =
        ActorEventsSerializer.CreateOptions(new ActorEventsDomainBuilder().AddSampleDomain().Build().Types);

    /// <summary>Whether a final reply with this code leaves the command possibly written (retry with the same id).</summary>
    public static bool MaybeWritten(RejectionCode code) => code is RejectionCode.Timeout or RejectionCode.OutcomeUnknown;

    /// <summary>Every live event of the journal, in ordering.</summary>
    public static IReadOnlyList<EventEnvelope> ReadJournal(ProcessDatabase database) =>
        database.Rows("SELECT message FROM journal WHERE NOT deleted ORDER BY ordering",
            r => JsonSerializer.Deserialize<EventEnvelope>((byte[])r.GetValue(0), EnvelopeJson)!);

    /// <summary>Open dead letters (none when the table does not exist yet).</summary>
    public static IReadOnlyList<DeadLetterRow> DeadLetters(ProcessDatabase database) => database.HasTable("ae_dead_letters")
        ? database.Rows("SELECT id, handler, event_id, aggregate_id FROM ae_dead_letters ORDER BY id",
            r => new DeadLetterRow(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetString(2), r.GetString(3)))
        : [];

    /// <summary>The command logs against the journal.</summary>
    public static CommandAudit Commands(IReadOnlyList<EventEnvelope> journal, IReadOnlyList<AcknowledgedCommand> acks, IReadOnlyList<RejectedCommand> rejects)
    {
        var evidence = new List<string>();
        var byPosition = journal.ToDictionary(e => (e.StreamName, e.SequenceNr));
        var byCommand = journal.GroupBy(e => e.CausationId).ToDictionary(g => g.Key, g => g.ToArray());

        // Acknowledged: every event at its acknowledged position.
        var lost = 0;
        foreach (var ack in acks)
        {
            var missing = ack.Events.Count(e => !byPosition.TryGetValue((ack.Stream, e.SequenceNr), out var stored) || stored.EventId != e.EventId);
            if (missing > 0)
            {
                lost += missing;
                evidence.Add($"lost: {ack.CommandType} {ack.CommandId} on {ack.Stream}, {missing} of {ack.Events.Count} events missing (replies {string.Join(",", ack.Replies ?? [])})");
            }
        }

        // Certainly not written, yet in the journal (or found applied by a retry after nothing but "not written").
        var rejectedButPresent = 0;
        foreach (var reject in rejects.Where(r => !MaybeWritten(r.Code) && byCommand.ContainsKey(r.CommandId)))
        {
            rejectedButPresent++;
            var stored = byCommand[reject.CommandId];
            evidence.Add($"rejected but present: {reject.CommandType} {reject.CommandId} on {reject.Stream} answered {reject.Code} ({string.Join(",", reject.Replies)}: {reject.Message}); " +
                $"the journal holds {string.Join(", ", stored.Select(e => $"{e.EventType} #{e.SequenceNr} at {e.OccurredAt:HH:mm:ss.fff}"))}");
        }

        foreach (var ack in acks.Where(a => a.Duplicate && a.Replies is { Count: > 1 } replies && replies.Take(replies.Count - 1).All(NotWrittenReply)))
        {
            rejectedButPresent++;
            evidence.Add($"not written, then duplicate: {ack.CommandType} {ack.CommandId} on {ack.Stream} answered {string.Join(",", ack.Replies!)}");
        }

        var unknown = rejects.Where(r => MaybeWritten(r.Code)).ToArray();
        var unknownPresent = unknown.Count(r => byCommand.ContainsKey(r.CommandId));

        // Each command id's events once: one stream, no event type twice, as many as acknowledged.
        var duplicated = 0;
        foreach (var (commandId, events) in byCommand)
        {
            if (events.Select(e => e.StreamName).Distinct().Count() > 1 || events.GroupBy(e => e.EventType).Any(g => g.Count() > 1))
            {
                duplicated++;
                evidence.Add($"duplicated: command {commandId} has {string.Join(", ", events.Select(e => $"{e.StreamName} #{e.SequenceNr} {e.EventType}"))}");
            }
        }

        foreach (var ack in acks.Where(a => byCommand.TryGetValue(a.CommandId, out var events) && events.Length != a.Events.Count))
        {
            duplicated++;
            evidence.Add($"duplicated: acknowledged {ack.CommandType} {ack.CommandId} with {ack.Events.Count} events, the journal has {byCommand[ack.CommandId].Length}");
        }

        var gaps = 0;
        foreach (var stream in journal.GroupBy(e => e.StreamName))
        {
            var numbers = stream.Select(e => e.SequenceNr).Order().ToArray();
            if (!numbers.SequenceEqual(Enumerable.Range(1, numbers.Length).Select(i => (long)i)))
            {
                gaps++;
                evidence.Add($"gap: {stream.Key} holds {string.Join(",", numbers.Take(20))}{(numbers.Length > 20 ? ",…" : "")}");
            }
        }

        var finalOutcomes = acks.Select(a => a.CommandId).Concat(rejects.Select(r => r.CommandId)).ToArray();
        var inBothLogs = finalOutcomes.Length - finalOutcomes.Distinct().Count();
        if (inBothLogs > 0)
        {
            evidence.Add($"{inBothLogs} command ids have more than one final outcome");
        }

        var logged = finalOutcomes.ToHashSet();
        var unlogged = byCommand.Keys.Count(id => !id.EndsWith(":" + nameof(StockOnShipmentHandler), StringComparison.Ordinal) && !logged.Contains(id));
        return new CommandAudit(logged.Count, acks.Count, acks.Count(a => a.Duplicate),
            rejects.GroupBy(r => r.Code).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
            lost, rejectedButPresent, unknownPresent, unknown.Length - unknownPresent, duplicated, gaps, inBothLogs, unlogged, journal.Count,
            acks.SelectMany(a => a.Replies ?? []).Concat(rejects.SelectMany(r => r.Replies)).GroupBy(r => r)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            evidence);

        static bool NotWrittenReply(string reply) => Enum.TryParse<RejectionCode>(reply, out var code) && !MaybeWritten(code);
    }

    /// <summary>The stock ledger: every SKU's movements against its stated on-hand, every shipment against its reduction.</summary>
    public static StockLedger Ledger(IReadOnlyList<EventEnvelope> journal, IReadOnlyList<DeadLetterRow> deadLetters)
    {
        var evidence = new List<string>();
        var inventory = journal.Where(e => e.AggregateType == "inventory").GroupBy(e => e.AggregateId).ToArray();
        var unbalanced = 0;
        foreach (var sku in inventory)
        {
            var events = sku.OrderBy(e => e.SequenceNr).Select(e => e.Event).ToArray();
            long added = events.OfType<StockAdded>().Sum(a => (long)a.Quantity), reduced = events.OfType<StockReduced>().Sum(r => (long)r.Quantity),
                restored = events.OfType<StockRestored>().Sum(r => (long)r.Quantity);
            var onHand = OnHand(events[^1]);
            long running = 0;
            var brokenAt = -1;
            for (var i = 0; i < events.Length && brokenAt < 0; i++)
            {
                running += events[i] switch { StockAdded a => a.Quantity, StockReduced r => -r.Quantity, StockRestored r => r.Quantity, _ => 0 };
                brokenAt = OnHand(events[i]) == running ? -1 : i + 1;
            }

            if (added - reduced + restored != onHand || brokenAt > 0)
            {
                unbalanced++;
                evidence.Add($"unbalanced: {sku.Key} added {added} − reduced {reduced} + restored {restored} ≠ on hand {onHand}" + (brokenAt > 0 ? $" (running sum broken at #{brokenAt})" : ""));
            }
        }

        var shipments = journal.Where(e => e.Event is OrderShipped).ToArray();
        var reductions = journal.Select(e => e.Event).OfType<StockReduced>().GroupBy(r => r.OrderId).ToDictionary(g => g.Key, g => g.ToArray());
        var stockDeadLetters = deadLetters.Where(d => d.Handler == nameof(StockOnShipmentHandler)).ToArray();
        var deadLetterEvents = stockDeadLetters.Select(d => d.EventId).ToHashSet();
        var withoutReduction = shipments.Where(s => !reductions.ContainsKey(((OrderShipped)s.Event).OrderId)).ToArray();
        var covered = withoutReduction.Count(s => deadLetterEvents.Contains(s.EventId));
        foreach (var skipped in withoutReduction.Where(s => !deadLetterEvents.Contains(s.EventId)))
        {
            evidence.Add($"shipped without stock reduction or dead letter: {((OrderShipped)skipped.Event).OrderId} (event {skipped.EventId}, {skipped.OccurredAt:HH:mm:ss.fff})");
        }

        var doubles = reductions.Where(r => r.Value.Length > 1).ToArray();
        evidence.AddRange(doubles.Select(d => $"reduced {d.Value.Length} times: {d.Key}"));
        var shipped = shipments.Select(s => (OrderShipped)s.Event).ToDictionary(s => s.OrderId);
        var mismatched = reductions.Values.SelectMany(r => r)
            .Where(r => !shipped.TryGetValue(r.OrderId, out var s) || s.Sku != r.Sku || s.Quantity != r.Quantity).ToArray();
        evidence.AddRange(mismatched.Select(r => $"reduction without matching shipment: {r.OrderId} {r.Sku} × {r.Quantity}"));
        var alreadyReduced = stockDeadLetters.Count(d => reductions.ContainsKey(d.AggregateId));
        return new StockLedger(inventory.Length, unbalanced, shipments.Length, withoutReduction.Length, covered, doubles.Length, mismatched.Length,
            stockDeadLetters.Length, alreadyReduced, evidence);

        static long OnHand(object e) => e switch { StockAdded a => a.OnHand, StockReduced r => r.OnHand, StockRestored r => r.OnHand, _ => long.MinValue };
    }

    /// <summary>The journal ordering of an event (by its stream and sequence number).</summary>
    private static long OrderingOf(ProcessDatabase database, EventEnvelope e) =>
        database.Scalar($"SELECT ordering FROM journal WHERE persistence_id = '{e.StreamName}' AND sequence_number = {e.SequenceNr}");

    /// <summary>Every durable read model of the sample equals a fold of the journal (run after the subscriptions drained).</summary>
    public static void AssertReadModelsEqualTheJournal(ProcessDatabase database, IReadOnlyList<EventEnvelope> journal)
    {
        // order-totals: each order's last status and value; the totals per status.
        var orders = journal.Where(e => e.AggregateType == "order").GroupBy(e => e.AggregateId).Select(order =>
        {
            var placed = order.Select(e => e.Event).OfType<OrderPlaced>().Single();
            var status = order.OrderBy(e => e.SequenceNr).Select(e => e.Event).Aggregate("placed", (current, e) => e switch
            {
                OrderProcessed => "processed",
                OrderShipped => "shipped",
                OrderCancelled => "cancelled",
                _ => current,
            });
            return (OrderId: order.Key, Status: status, Cents: (long)Math.Round(placed.Quantity * placed.UnitPrice.Amount * 100m, MidpointRounding.AwayFromZero));
        }).OrderBy(o => o.OrderId, StringComparer.Ordinal).ToArray();
        Assert.Equal(orders, database.Rows("SELECT order_id, status, total_cents FROM sample_orders", r => (r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)))
            .OrderBy(o => o.Item1, StringComparer.Ordinal));
        Assert.Equal(
            orders.GroupBy(o => o.Status).Select(g => (g.Key, (long)g.Count(), g.Sum(o => o.Cents))).OrderBy(t => t.Key, StringComparer.Ordinal),
            database.Rows("SELECT status, orders, total_cents FROM sample_order_totals WHERE orders <> 0", r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)))
                .OrderBy(t => t.Item1, StringComparer.Ordinal));

        // stock-levels: the last stated stock of every SKU.
        var stock = journal.Where(e => e.AggregateType == "inventory").GroupBy(e => e.AggregateId).Select(sku =>
        {
            var last = sku.MaxBy(e => e.SequenceNr)!;
            var onHand = last.Event switch { StockAdded a => a.OnHand, StockReduced r => r.OnHand, StockRestored r => r.OnHand, _ => -1 };
            return (sku.Key, (long)onHand, (long)sku.Count(), last.SequenceNr);
        }).OrderBy(s => s.Key, StringComparer.Ordinal);
        Assert.Equal(stock, database.Rows("SELECT sku, on_hand, movements, version FROM sample_stock_levels",
                r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture)))
            .OrderBy(s => s.Item1, StringComparer.Ordinal));

        // The shipment ledger: the guarded handler's additions, each shipment exactly once.
        var processed = database.Rows($"SELECT event_id FROM ae_processed_events WHERE handler = '{nameof(ShipmentLedgerHandler)}'", r => r.GetString(0)).ToHashSet();
        var deadLettered = DeadLetters(database).Where(d => d.Handler == nameof(ShipmentLedgerHandler)).Select(d => d.EventId).ToHashSet();
        var unprocessed = journal.Where(e => e.Event is OrderShipped && !processed.Contains(e.EventId))
            .Select(e => $"{e.EventId} ({((OrderShipped)e.Event).OrderId}, {e.OccurredAt:HH:mm:ss.fff}{(deadLettered.Contains(e.EventId) ? ", dead-lettered" : "")})").ToArray();
        var shipped = journal.Select(e => e.Event).OfType<OrderShipped>().GroupBy(s => s.Sku)
            .Select(g => (g.Key, (long)g.Sum(s => s.Quantity), (long)g.Count())).OrderBy(s => s.Key, StringComparer.Ordinal);
        var ledger = database.Rows("SELECT sku, units, shipments FROM sample_shipped_units",
                r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)))
            .OrderBy(s => s.Item1, StringComparer.Ordinal).ToArray();
        Assert.True(shipped.SequenceEqual(ledger),
            $"the shipment ledger [{string.Join(", ", ledger)}] should equal the journal's shipments [{string.Join(", ", shipped)}]; " +
            $"shipments without a processed-event record: {(unprocessed.Length == 0 ? "none" : string.Join("; ", unprocessed))}; {processed.Count} records; " +
            $"their orderings: {string.Join(", ", journal.Where(e => e.Event is OrderShipped && !processed.Contains(e.EventId)).Select(e => OrderingOf(database, e)))}; " +
            $"checkpoints: {string.Join(", ", database.Rows("SELECT subscription, position FROM ae_checkpoints", r => $"{r.GetString(0)} {Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)}"))}");
        // …and its processed-event record holds every order.shipped event of the journal (by event id), and nothing else.
        Assert.Equal(journal.Where(e => e.Event is OrderShipped).Select(e => e.EventId).Order(StringComparer.Ordinal),
            database.Rows($"SELECT event_id FROM ae_processed_events WHERE handler = '{nameof(ShipmentLedgerHandler)}'", r => r.GetString(0))
                .Order(StringComparer.Ordinal));
    }
}
