using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ActorEvents.Actors.Telemetry;

/// <summary>
/// The names under which ActorEvents publishes its metrics (System.Diagnostics.Metrics meter <see cref="Name"/>) and
/// traces (ActivitySource <see cref="Name"/>). OpenTelemetry subscribes to both by name: <c>AddMeter("ActorEvents")</c>,
/// <c>AddSource("ActorEvents")</c>.
/// </summary>
public static class ActorEventsTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "ActorEvents";

    /// <summary>Commands the mediator answered, by <see cref="Tags.CommandType"/>, <see cref="Tags.Outcome"/> and, when rejected, <see cref="Tags.RejectionCode"/>.</summary>
    public const string Commands = "actorevents.commands";

    /// <summary>Seconds from the mediator taking a command to its reply, by <see cref="Tags.CommandType"/> and <see cref="Tags.Outcome"/>.</summary>
    public const string CommandDuration = "actorevents.command.duration";

    /// <summary>Events persisted by aggregates, by <see cref="Tags.AggregateType"/>.</summary>
    public const string EventsPersisted = "actorevents.events.persisted";

    /// <summary>Seconds one journal transaction took (insert and commit of every write in it).</summary>
    public const string JournalWriteDuration = "actorevents.journal.write.duration";

    /// <summary>Events written per journal transaction (the group commit's batch).</summary>
    public const string JournalTransactionEvents = "actorevents.journal.transaction.events";

    /// <summary>Handler invocations, by <see cref="Tags.Handler"/> and <see cref="Tags.Outcome"/> (succeeded, failed).</summary>
    public const string HandlerRuns = "actorevents.handler.runs";

    /// <summary>Seconds one handler invocation took, by <see cref="Tags.Handler"/> and <see cref="Tags.Outcome"/>.</summary>
    public const string HandlerDuration = "actorevents.handler.duration";

    /// <summary>Retries scheduled after a failed invocation, by <see cref="Tags.Handler"/>.</summary>
    public const string HandlerRetries = "actorevents.handler.retries";

    /// <summary>(event, handler) pairs sent to the dead-letter store, by <see cref="Tags.Handler"/>.</summary>
    public const string HandlerDeadLettered = "actorevents.handler.dead_lettered";

    /// <summary>Work items waiting for a worker, by <see cref="Tags.Pool"/> and <see cref="Tags.Node"/> (gauge).</summary>
    public const string PoolQueued = "actorevents.pool.queued";

    /// <summary>Handler invocations running now, by <see cref="Tags.Pool"/> and <see cref="Tags.Node"/> (gauge).</summary>
    public const string PoolRunning = "actorevents.pool.running";

    /// <summary>Work items waiting for their retry, by <see cref="Tags.Pool"/> and <see cref="Tags.Node"/> (gauge).</summary>
    public const string PoolRetrying = "actorevents.pool.retrying";

    /// <summary>Events a pool holds parked behind a dead letter of their stream, by <see cref="Tags.Pool"/> and <see cref="Tags.Node"/> (gauge).</summary>
    public const string PoolParked = "actorevents.pool.parked";

    /// <summary>Events in a subscription's source after its position, by <see cref="Tags.Subscription"/> (gauge).</summary>
    public const string SubscriptionLagEvents = "actorevents.subscription.lag.events";

    /// <summary>Age in seconds of the oldest event a subscription has not processed, by <see cref="Tags.Subscription"/> (gauge).</summary>
    public const string SubscriptionLagSeconds = "actorevents.subscription.lag.seconds";

    /// <summary>A subscription's stored checkpoint (journal position), by <see cref="Tags.Subscription"/> (gauge).</summary>
    public const string SubscriptionCheckpoint = "actorevents.subscription.checkpoint";

    /// <summary>Open dead letters of a subscription's handlers (or projection), by <see cref="Tags.Subscription"/> (gauge).</summary>
    public const string SubscriptionDeadLetters = "actorevents.subscription.dead_letters";

    /// <summary>Events of a subscription's handlers parked behind those dead letters, by <see cref="Tags.Subscription"/> (gauge).</summary>
    public const string SubscriptionParked = "actorevents.subscription.parked";

    /// <summary>The names of the tags (attributes) on measurements and spans.</summary>
    public static class Tags
    {
        /// <summary>Stable name of the command's CLR type (e.g. <c>PlaceOrder</c>).</summary>
        public const string CommandType = "actorevents.command.type";

        /// <summary>Id of the command.</summary>
        public const string CommandId = "actorevents.command.id";

        /// <summary>Correlation id of the request.</summary>
        public const string CorrelationId = "actorevents.correlation.id";

        /// <summary><c>accepted</c> or <c>rejected</c> (commands); <c>succeeded</c> or <c>failed</c> (handlers).</summary>
        public const string Outcome = "actorevents.outcome";

        /// <summary>The <see cref="Messages.RejectionCode"/> of a rejected command.</summary>
        public const string RejectionCode = "actorevents.rejection.code";

        /// <summary>Stable aggregate type name (e.g. <c>order</c>).</summary>
        public const string AggregateType = "actorevents.aggregate.type";

        /// <summary>Aggregate id (spans only).</summary>
        public const string AggregateId = "actorevents.aggregate.id";

        /// <summary>Stable event type name (spans only).</summary>
        public const string EventType = "actorevents.event.type";

        /// <summary>Event id (spans only).</summary>
        public const string EventId = "actorevents.event.id";

        /// <summary>Handler name.</summary>
        public const string Handler = "actorevents.handler";

        /// <summary>Attempt number of a handler invocation (spans only).</summary>
        public const string Attempt = "actorevents.handler.attempt";

        /// <summary>Handler pool: <c>handler-pool</c>, <c>streaming-handler-pool</c>, <c>durable-replay-pool</c> or a subscription's name.</summary>
        public const string Pool = "actorevents.pool";

        /// <summary>Cluster address of the node.</summary>
        public const string Node = "actorevents.node";

        /// <summary>Subscription or projection name.</summary>
        public const string Subscription = "actorevents.subscription";

        /// <summary>OpenTelemetry's <c>error.type</c>: the rejection code or exception type of a failure.</summary>
        public const string ErrorType = "error.type";
    }

    /// <summary>The span names.</summary>
    public static class Spans
    {
        /// <summary><c>command {CommandType}</c>: a command from the mediator taking it to its reply.</summary>
        public const string CommandPrefix = "command ";

        /// <summary><c>persist {AggregateType}</c>: an aggregate's PersistAll of a command's events.</summary>
        public const string PersistPrefix = "persist ";

        /// <summary><c>handle {Handler}</c>: one handler invocation for one event (a follow-up's handlers are its children).</summary>
        public const string HandlePrefix = "handle ";
    }

    internal static readonly ActivitySource Source = new(Name, typeof(ActorEventsTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(Name, typeof(ActorEventsTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Counter<long> CommandCounter = Meter.CreateCounter<long>(Commands, "{command}", "Commands the mediator answered.");

    internal static readonly Histogram<double> CommandSeconds = Meter.CreateHistogram<double>(CommandDuration, "s", "Time from the mediator taking a command to its reply.");

    internal static readonly Counter<long> EventsPersistedCounter = Meter.CreateCounter<long>(EventsPersisted, "{event}", "Events persisted by aggregates.");

    internal static readonly Histogram<double> JournalWriteSeconds = Meter.CreateHistogram<double>(JournalWriteDuration, "s", "Time of one journal transaction.");

    internal static readonly Histogram<long> JournalTransactionEventCount = Meter.CreateHistogram<long>(JournalTransactionEvents, "{event}", "Events per journal transaction.");

    internal static readonly Counter<long> HandlerRunCounter = Meter.CreateCounter<long>(HandlerRuns, "{invocation}", "Handler invocations.");

    internal static readonly Histogram<double> HandlerSeconds = Meter.CreateHistogram<double>(HandlerDuration, "s", "Time of one handler invocation.");

    internal static readonly Counter<long> HandlerRetryCounter = Meter.CreateCounter<long>(HandlerRetries, "{retry}", "Retries scheduled after failed invocations.");

    internal static readonly Counter<long> DeadLetteredCounter = Meter.CreateCounter<long>(HandlerDeadLettered, "{event}", "(event, handler) pairs sent to the dead-letter store.");

    static ActorEventsTelemetry()
    {
        Meter.CreateObservableGauge(PoolQueued, () => TelemetryBoard.Pools(load => load.Queued), "{item}", "Work items waiting for a worker.");
        Meter.CreateObservableGauge(PoolRunning, () => TelemetryBoard.Pools(load => load.Running), "{invocation}", "Handler invocations running.");
        Meter.CreateObservableGauge(PoolRetrying, () => TelemetryBoard.Pools(load => load.Retrying), "{item}", "Work items waiting for their retry.");
        Meter.CreateObservableGauge(PoolParked, () => TelemetryBoard.Pools(load => load.Parked), "{event}", "Events parked behind a dead letter.");
        Meter.CreateObservableGauge(SubscriptionLagEvents, () => TelemetryBoard.Subscriptions(s => s.LagEvents), "{event}", "Events a subscription has not processed.");
        Meter.CreateObservableGauge(SubscriptionLagSeconds, () => TelemetryBoard.Subscriptions(s => s.LagSeconds), "s", "Age of the oldest event a subscription has not processed.");
        Meter.CreateObservableGauge(SubscriptionCheckpoint, () => TelemetryBoard.Subscriptions(s => s.Checkpoint), "{position}", "A subscription's stored checkpoint.");
        Meter.CreateObservableGauge(SubscriptionDeadLetters, () => TelemetryBoard.Subscriptions(s => (long)s.DeadLetters), "{entry}", "Open dead letters of a subscription.");
        Meter.CreateObservableGauge(SubscriptionParked, () => TelemetryBoard.Subscriptions(s => (long)s.Parked), "{event}", "Events of a subscription parked behind its dead letters.");
    }

    /// <summary>Makes sure the instruments exist (the gauges are created with the meter's first use).</summary>
    internal static void EnsureCreated() => _ = CommandCounter;

    /// <summary>
    /// Starts a span whose parent is exactly <paramref name="traceParent"/> (a W3C <c>traceparent</c>; none: a new trace),
    /// never whatever <see cref="Activity.Current"/> an actor's thread happens to carry, and leaves <see cref="Activity.Current"/>
    /// as it was. Null when nobody listens.
    /// </summary>
    internal static Activity? StartDetached(string name, ActivityKind kind, string? traceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent);
            return Source.StartActivity(name, kind, parent);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    /// <summary>Ends a span started by <see cref="StartDetached"/> and leaves <see cref="Activity.Current"/> as it was.</summary>
    internal static void StopDetached(Activity? activity)
    {
        if (activity is null)
        {
            return;
        }

        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous == activity ? null : previous;
    }

    /// <summary>The traceparent to hand on: the span's own, or the one it would have had (nobody sampled it).</summary>
    internal static string? TraceParentOf(Activity? activity, string? inherited) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : inherited;
}
