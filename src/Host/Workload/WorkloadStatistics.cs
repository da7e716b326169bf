using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Messages;
using HdrHistogram;

namespace ActorEvents.Host.Workload;

/// <summary>What the workload expects a command to come back with.</summary>
/// <param name="MayAccept">Acceptance is fine.</param>
/// <param name="MayRejectWith">Rejection with this code is fine.</param>
public readonly record struct Expectation(bool MayAccept, RejectionCode? MayRejectWith)
{
    /// <summary>Must be accepted.</summary>
    public static Expectation Accepted => new(true, null);

    /// <summary>Must be rejected with <paramref name="code"/>.</summary>
    public static Expectation Rejected(RejectionCode code) => new(false, code);

    /// <summary>Either accepted or rejected with <paramref name="code"/> (e.g. a reservation that may find too little stock).</summary>
    public static Expectation AcceptedOrRejected(RejectionCode code) => new(true, code);

    /// <summary>True when <paramref name="result"/> is what was expected.</summary>
    public bool Allows(CommandResult result) => result switch
    {
        CommandAccepted => MayAccept,
        CommandRejected rejected => rejected.Code == MayRejectWith,
        _ => false,
    };

    /// <inheritdoc />
    public override string ToString() => (MayAccept, MayRejectWith) switch
    {
        (true, null) => "accepted",
        (true, { } code) => $"accepted or {code}",
        (false, { } code) => code.ToString(),
        _ => "nothing",
    };
}

/// <summary>
/// Thread-safe tally of a running workload: counters for live progress, a latency histogram, rejections by
/// code and scenario, persisted events by type, and the stock ledger of every SKU seen in replies.
/// </summary>
public sealed class WorkloadStatistics
{
    private const int MaxSurpriseSamples = 5;

    private readonly Lock _gate = new();
    private readonly LongHistogram _latencyMicroseconds = new(TimeSpan.FromMinutes(10).Ticks / TimeSpan.TicksPerMicrosecond, 3);
    private readonly Dictionary<RejectionCode, Dictionary<string, long>> _rejections = [];
    private readonly Dictionary<string, long> _eventsByType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SkuLedger> _skus = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Handler, HandlerStatus Status), long> _handlerRuns = [];
    private readonly List<string> _surpriseSamples = [];
    private long _repliesBeforeHandlersFinished;
    private long _sent;
    private long _accepted;
    private long _rejected;
    private long _failed;
    private long _events;
    private long _surprises;

    /// <summary>Commands that have come back (accepted, rejected or failed).</summary>
    public long Completed => Interlocked.Read(ref _sent);

    /// <summary>Accepted commands so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Rejected commands so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Commands whose outcome contradicted the script so far.</summary>
    public long Surprises => Interlocked.Read(ref _surprises);

    /// <summary>Records the result of one command.</summary>
    /// <param name="scenario">Short name of why the command was sent (e.g. <c>ship</c>, <c>over-reduce</c>).</param>
    /// <param name="expectation">What the script expected.</param>
    /// <param name="command">The command.</param>
    /// <param name="result">Its result.</param>
    /// <param name="elapsed">Time from send to reply.</param>
    public void Record(string scenario, Expectation expectation, ICommand command, CommandResult result, TimeSpan elapsed)
    {
        lock (_gate)
        {
            _latencyMicroseconds.RecordValue(Math.Clamp(elapsed.Ticks / TimeSpan.TicksPerMicrosecond, 1, _latencyMicroseconds.HighestTrackableValue));
            switch (result)
            {
                case CommandAccepted accepted:
                    Interlocked.Increment(ref _accepted);
                    if (!accepted.Duplicate)
                    {
                        foreach (var envelope in accepted.Events)
                        {
                            Interlocked.Increment(ref _events);
                            _eventsByType[envelope.EventType] = _eventsByType.GetValueOrDefault(envelope.EventType) + 1;
                            TrackStock(envelope, accepted);
                        }
                    }

                    foreach (var outcome in accepted.HandlerOutcomes)
                    {
                        _handlerRuns[(outcome.Handler, outcome.Status)] = _handlerRuns.GetValueOrDefault((outcome.Handler, outcome.Status)) + 1;
                    }

                    if (accepted.Events.Count > 0 && !accepted.HandlersCompleted)
                    {
                        _repliesBeforeHandlersFinished++;
                    }

                    break;
                case CommandRejected rejected:
                    Interlocked.Increment(ref _rejected);
                    if (!_rejections.TryGetValue(rejected.Code, out var byScenario))
                    {
                        byScenario = new Dictionary<string, long>(StringComparer.Ordinal);
                        _rejections[rejected.Code] = byScenario;
                    }

                    byScenario[scenario] = byScenario.GetValueOrDefault(scenario) + 1;
                    break;
            }

            if (!expectation.Allows(result))
            {
                var outcome = result is CommandRejected r ? $"{r.Code}: {r.Message}" : "accepted";
                Surprise($"{scenario}: {command.GetType().Name} '{command.AggregateId}' expected {expectation}, got {outcome}");
            }

            Interlocked.Increment(ref _sent);
        }
    }

    /// <summary>Records a command whose send threw (the client should never throw; this is a real failure).</summary>
    public void RecordFailure(string scenario, ICommand command, Exception exception)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _failed);
            Surprise($"{scenario}: {command.GetType().Name} '{command.AggregateId}' threw {exception.GetType().Name}: {exception.Message}");
            Interlocked.Increment(ref _sent);
        }
    }

    /// <summary>Freezes the tallies into a summary.</summary>
    /// <param name="plan">The plan that ran.</param>
    /// <param name="concurrency">Its concurrency.</param>
    /// <param name="elapsed">How long it ran.</param>
    /// <param name="interrupted">True when it was stopped before the end (the stock ledger is then not checked).</param>
    public WorkloadSummary Summarize(WorkloadPlan plan, int concurrency, TimeSpan elapsed, bool interrupted)
    {
        lock (_gate)
        {
            var ledgers = plan.Skus.Select(sku => _skus.GetValueOrDefault(sku)).OfType<SkuLedger>().ToArray();
            var checkable = interrupted ? [] : ledgers.Where(l => l.Verifiable).ToArray();
            var unbalanced = checkable.Where(l => !l.Balances).ToArray();
            foreach (var ledger in unbalanced)
            {
                Surprise($"stock ledger of {ledger.Sku}: {ledger.OnHandBefore} before, {ledger.OwnChange:+#;-#;0} restocked, " +
                    $"{ledger.HandlerChange:+#;-#;0} taken by shipments, but {ledger.OnHandAfter} after");
            }

            var inventory = new InventorySummary(
                plan.Skus.Count,
                ledgers.Length,
                ledgers.Sum(l => (long)l.OnHandBefore),
                ledgers.Sum(l => (long)l.OnHandAfter),
                ledgers.Sum(l => l.FirstSequenceNr - 1),
                ledgers.Sum(l => l.LastSequenceNr),
                checkable.Length,
                unbalanced.Length);

            return new WorkloadSummary
            {
                RunId = plan.RunId,
                PlannedCommands = plan.PlannedCommands,
                Orders = plan.Orders,
                Concurrency = concurrency,
                Elapsed = elapsed,
                Interrupted = interrupted,
                Sent = _sent,
                Accepted = _accepted,
                Rejected = _rejected,
                Failed = _failed,
                EventsPersisted = _events,
                FollowUpEventsPersisted = ledgers.Sum(l => l.LastSequenceNr - (l.FirstSequenceNr - 1) - l.OwnEvents),
                HandlerRuns = _handlerRuns.OrderBy(h => h.Key.Handler, StringComparer.Ordinal).ThenBy(h => h.Key.Status)
                    .Select(h => new HandlerRunTally(h.Key.Handler, h.Key.Status, h.Value)).ToArray(),
                RepliesBeforeHandlersFinished = _repliesBeforeHandlersFinished,
                Rejections = _rejections
                    .OrderByDescending(r => r.Value.Values.Sum())
                    .Select(r => new RejectionTally(r.Key, r.Value.Values.Sum(),
                        r.Value.OrderByDescending(s => s.Value).Select(s => new ScenarioTally(s.Key, s.Value)).ToArray()))
                    .ToArray(),
                EventsByType = _eventsByType.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new EventTally(e.Key, e.Value)).ToArray(),
                Latency = LatencySummary.From(_latencyMicroseconds),
                Inventory = inventory,
                Surprises = _surprises,
                SurpriseSamples = _surpriseSamples.ToArray(),
            };
        }
    }

    private void Surprise(string description)
    {
        Interlocked.Increment(ref _surprises);
        if (_surpriseSamples.Count < MaxSurpriseSamples)
        {
            _surpriseSamples.Add(description);
        }
    }

    private void TrackStock(EventEnvelope envelope, CommandAccepted reply)
    {
        switch (envelope.Event)
        {
            case StockAdded a:
                LedgerOf(a.Sku).Observe(envelope.SequenceNr, a.Quantity, a.OnHand);
                break;
            case StockReduced r:
                LedgerOf(r.Sku).Observe(envelope.SequenceNr, -r.Quantity, r.OnHand);
                break;
            case StockRestored r:
                LedgerOf(r.Sku).Observe(envelope.SequenceNr, r.Quantity, r.OnHand);
                break;
            case OrderShipped shipped:
                // The sample's stock handler takes the shipped units from the SKU by a command of its own, whose
                // event this reply does not carry: expect it when the handler reports success.
                var ledger = LedgerOf(shipped.Sku);
                var stockHandler = reply.HandlerOutcomes
                    .Where(o => o.EventId == envelope.EventId && o.Handler == nameof(StockOnShipmentHandler))
                    .ToArray();
                if (!reply.HandlersCompleted || stockHandler.Any(o => o.Status != HandlerStatus.Succeeded))
                {
                    ledger.Verifiable = false;
                }
                else if (stockHandler.Length > 0)
                {
                    ledger.HandlerChange -= shipped.Quantity;
                }

                break;
        }
    }

    private SkuLedger LedgerOf(string sku)
    {
        if (!_skus.TryGetValue(sku, out var ledger))
        {
            ledger = new SkuLedger(sku);
            _skus[sku] = ledger;
        }

        return ledger;
    }

    /// <summary>
    /// What this run saw of one SKU: the first stock event its own commands caused (so the state before the run),
    /// the last one (the state after, since the run ends with a restock of every SKU), its own changes and the
    /// changes shipment handlers reported. Only this run writes these streams while it runs, so before + own
    /// changes + handler changes must equal after.
    /// </summary>
    private sealed class SkuLedger(string sku)
    {
        public string Sku { get; } = sku;

        public long FirstSequenceNr { get; private set; } = long.MaxValue;

        public int OnHandBefore { get; private set; }

        public long LastSequenceNr { get; private set; }

        public int OnHandAfter { get; private set; }

        public long OwnChange { get; private set; }

        public long OwnEvents { get; private set; }

        public long HandlerChange { get; set; }

        public bool Verifiable { get; set; } = true;

        public bool Balances => OnHandBefore + OwnChange + HandlerChange == OnHandAfter;

        public void Observe(long sequenceNr, int change, int onHand)
        {
            OwnChange += change;
            OwnEvents++;
            if (sequenceNr < FirstSequenceNr)
            {
                FirstSequenceNr = sequenceNr;
                OnHandBefore = onHand - change;
            }

            if (sequenceNr > LastSequenceNr)
            {
                LastSequenceNr = sequenceNr;
                OnHandAfter = onHand;
            }
        }
    }
}
