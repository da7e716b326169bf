using System.Diagnostics;
using System.Globalization;
using ActorEvents.Bench.Domain;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Broker.Hosting;
using ActorEvents.Messages;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Bench.Scenarios;

/// <summary>
/// Notifications through RabbitMQ (issue 12), durability on, against the broker's own ceiling, in one process. Per round:
/// <list type="number">
/// <item><b>end to end</b>: a fresh database and host with the bench domain publishing every <see cref="BenchEvent"/> as
/// <c>bench.notice</c> (the publisher subscription, batches confirmed by the broker before its checkpoint moves) and
/// <see cref="BenchNoticeSubscriber"/> consuming the run's queue (prefetch, de-duplicated in <c>ae_processed_events</c>, acked
/// after the commit). N commands of one event each from the callers; messages/s from the first command to the last
/// message consumed (<see cref="BrokerStatistics"/>' Consumed), and publish-only: to the last one confirmed (Published).</item>
/// <item><b>raw publish</b> then <b>raw consume</b>: RabbitMQ.Client alone (<see cref="RawBroker"/>): N persistent messages of
/// the same size to a durable queue in batches of the publisher's size, then drained by a consumer with the same prefetch
/// acking each one.</item>
/// <item><b>raw publish+consume</b>: both at once, the consumer running while the publisher sends: the ceiling end to end
/// is compared with; and the same with the client's limiter of outstanding confirms switched off.</item>
/// </list>
/// </summary>
internal static class BrokerScenario
{
    /// <summary>Commands (and messages) per run when <c>--commands</c> is not given.</summary>
    public const int DefaultMessages = 20_000;

    /// <summary>The anchor: Wolverine's durable RabbitMQ path (durable outbox and inbox), messages/s.</summary>
    public const double AnchorMessagesPerSec = 3_100;

    /// <summary>The target: twice the anchor.</summary>
    public const double TargetMessagesPerSec = 2 * AnchorMessagesPerSec;

    /// <summary>The environment variable with the AMQP URI (the tests' own).</summary>
    public const string UriVariable = "ACTOREVENTS_TEST_RABBITMQ";

    /// <summary>The AMQP URI without <c>--broker-uri</c> and <see cref="UriVariable"/>.</summary>
    public const string DefaultUri = "amqp://guest:guest@127.0.0.1:5672/";

    private const string EndToEnd = "end to end";
    private const string SubscriberOnly = "subscriber only";
    private const string RawPublish = "raw publish";
    private const string RawConsume = "raw consume";
    private const string RawBoth = "raw pub+consume";
    private const string RawBothUnlimited = "raw pub+consume, no limiter";

    /// <summary>A run fails when no message was published or consumed for this long.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The AMQP URI of a run.</summary>
    public static string UriOf(BenchOptions options) =>
        options.BrokerUri ?? (Environment.GetEnvironmentVariable(UriVariable) is { Length: > 0 } uri ? uri : DefaultUri);

    public static async Task<(List<BenchResult> Results, Dictionary<string, RatioSummary> Ratios, List<string> Summary)> RunAsync(
        BenchOptions options, BenchDatabase database, IBenchProgress progress, CancellationToken cancellationToken)
    {
        if (database == BenchDatabase.InMem)
        {
            throw new ArgumentException(
                "broker needs a SQL journal (the publisher is a subscription, the subscriber de-duplicates in ae_processed_events): use --db sqlite or --db postgres.");
        }

        var uri = UriOf(options);
        try
        {
            await using var probe = await RawBroker.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.RabbitMQClientException or IOException)
        {
            throw new InvalidOperationException($"broker: RabbitMQ at {Redacted(uri)} cannot be reached ({e.GetBaseException().Message}); set --broker-uri or {UriVariable}.", e);
        }

        var messages = (int)Math.Min(options.Commands ?? DefaultMessages, 10_000_000);
        if (options.Warmup > TimeSpan.Zero)
        {
            // Each host warms itself up before its window (see EndToEndAsync); the raw client once, in a small discarded run.
            await RawBothAsync(options, database, uri, Math.Min(messages, 5_000), null, unlimited: false, progress, cancellationToken).ConfigureAwait(false);
        }

        var results = new List<BenchResult>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            var endToEnd = await EndToEndAsync(options, database, uri, messages, round, progress, cancellationToken).ConfigureAwait(false);
            var subscriber = await SubscriberOnlyAsync(options, database, uri, messages, round, progress, cancellationToken).ConfigureAwait(false);
            var (publish, consume) = await RawPublishThenConsumeAsync(options, database, uri, messages, round, progress, cancellationToken).ConfigureAwait(false);
            var both = await RawBothAsync(options, database, uri, messages, round, unlimited: false, progress, cancellationToken).ConfigureAwait(false);
            var unlimited = await RawBothAsync(options, database, uri, messages, round, unlimited: true, progress, cancellationToken).ConfigureAwait(false);
            results.Add(endToEnd with { CeilingRatio = Quotient(endToEnd.MessagesPerSec, both.MessagesPerSec) });
            results.AddRange([subscriber with { CeilingRatio = Quotient(subscriber.MessagesPerSec, consume.MessagesPerSec) }, publish, consume, both, unlimited]);
        }

        var ratios = Ratios(results);
        return (results, ratios, Summary(results, ratios, options, database));
    }

    private static double? Quotient(double? numerator, double? denominator) =>
        numerator is { } n && denominator is > 0 ? Math.Round(n / denominator.Value, 3) : null;

    private static Dictionary<string, RatioSummary> Ratios(List<BenchResult> results)
    {
        IReadOnlyList<double> PerRound(string numerator, Func<BenchResult, double?> top, string denominator, Func<BenchResult, double?> bottom) =>
        [
            .. results.Select(r => r.Round).Distinct().Select(round => Quotient(
                    results.FirstOrDefault(r => r.Round == round && r.Variant == numerator) is { } a ? top(a) : null,
                    results.FirstOrDefault(r => r.Round == round && r.Variant == denominator) is { } b ? bottom(b) : null))
                .Where(q => q is not null).Select(q => q!.Value),
        ];

        return new Dictionary<string, RatioSummary>
        {
            ["end-to-end/ceiling"] = RatioSummary.Of(PerRound(EndToEnd, r => r.MessagesPerSec, RawBoth, r => r.MessagesPerSec),
                "end-to-end messages/s ÷ raw publish+consume messages/s (same batch, prefetch, client defaults)"),
            ["publish-only/raw publish"] = RatioSummary.Of(PerRound(EndToEnd, r => r.PublishedPerSec, RawPublish, r => r.MessagesPerSec),
                "end-to-end confirmed/s (command → confirmed at the broker) ÷ raw publish messages/s"),
            ["subscriber only/raw consume"] = RatioSummary.Of(PerRound(SubscriberOnly, r => r.MessagesPerSec, RawConsume, r => r.MessagesPerSec),
                "the runtime's subscriber draining a pre-filled queue (de-dup transaction per message) ÷ the raw consumer draining one"),
            ["end-to-end/anchor"] = RatioSummary.Of(
                [.. results.Where(r => r.Variant == EndToEnd && r.MessagesPerSec is not null).Select(r => Math.Round(r.MessagesPerSec!.Value / AnchorMessagesPerSec, 3))],
                string.Create(CultureInfo.InvariantCulture, $"end-to-end messages/s ÷ {AnchorMessagesPerSec:N0} (Wolverine's durable RabbitMQ path); target ≥ 2")),
        };
    }

    private static List<string> Summary(List<BenchResult> results, Dictionary<string, RatioSummary> ratios, BenchOptions options, BenchDatabase database)
    {
        static string Median(IEnumerable<double?> values)
        {
            var list = values.Where(v => v is not null).Select(v => v!.Value).ToArray();
            return list.Length == 0 ? "n/a" : RatioSummary.Of(list, null).Median!.Value.ToString("N0", CultureInfo.InvariantCulture);
        }

        string Ratio(string key) => ratios[key].Median is { } median ? median.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
        var endToEnd = results.Where(r => r.Variant == EndToEnd).ToArray();
        return
        [
            string.Create(CultureInfo.InvariantCulture,
                $"HEADLINE broker on {BenchDb.NameOf(database)}: end to end {Median(endToEnd.Select(r => r.MessagesPerSec))} msg/s " +
                $"(publish-only {Median(endToEnd.Select(r => r.PublishedPerSec))} confirmed/s), raw RabbitMQ ceiling " +
                $"{Median(results.Where(r => r.Variant == RawBoth).Select(r => r.MessagesPerSec))} msg/s: end-to-end/ceiling {Ratio("end-to-end/ceiling")}, " +
                $"end-to-end/anchor {Ratio("end-to-end/anchor")} (anchor {AnchorMessagesPerSec:N0} msg/s, target ≥ {TargetMessagesPerSec:N0})"),
            string.Create(CultureInfo.InvariantCulture,
                $"settings: prefetch {options.Prefetch}, publisher batch {options.PublisherBatch ?? BenchBroker.DefaultPublisherBatch}, publisher poll " +
                $"{(options.PublisherPollInterval is { } poll ? $"{poll.TotalMilliseconds:0.#} ms" : "runtime default (0)")}, source poll " +
                $"{(options.SourcePollInterval is { } source ? $"{source.TotalMilliseconds:0.#} ms" : "runtime default (100 ms)")}, de-duplication {(options.Deduplicate ? "on" : "off")}, " +
                $"{options.Callers} callers, medians of {options.Rounds} round(s)"),
        ];
    }

    private static (string Exchange, string Queue) NewNames()
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        return ($"bench-{id}", $"bench-{id}");
    }

    private static string Label(int? round, string variant) => round is { } number ? $"round {number} · {variant}" : $"JIT warm-up (discarded) · {variant}";

    /// <summary>Commands through the runtime, notifications through the publisher subscription and the broker, consumed by the subscriber.</summary>
    private static async Task<BenchResult> EndToEndAsync(
        BenchOptions options, BenchDatabase database, string uri, int messages, int? round, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var label = Label(round, EndToEnd);
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("starting host");
        var (exchange, queue) = NewNames();
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        await using (var connection = await RawBroker.ConnectAsync(uri, cancellationToken).ConfigureAwait(false))
        {
            // Bound before anything is published: a notification routed to no queue is dropped.
            await RawBroker.DeclareAsync(connection, exchange, queue, cancellationToken).ConfigureAwait(false);
        }

        BenchResult result;
        try
        {
            var broker = new BenchBrokerSettings(uri, exchange, queue, options.Prefetch, options.PublisherBatch, options.PublisherPollInterval, options.Deduplicate);
            var settings = PipelineHostSettings.From(options) with { HandlersPerEvent = 0, ReplyMode = ReplyMode.AfterPersist, Broker = broker };
            await using var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false);
            var statistics = host.Host.Services.GetRequiredService<BrokerStatistics>();
            var side = host.Host.Services.GetRequiredService<BenchBrokerSide>();
            var ids = new AggregateIds(options.Aggregates, options.Callers);
            long accepted = 0;
            long primed = 0;

            async Task<string?> SendAsync(int caller, long sequence, CancellationToken token)
            {
                var reply = await host.Client.SendAsync(new BenchCommand(ids.For(caller, sequence), 1, options.PayloadBytes), null, token).ConfigureAwait(false);
                switch (reply)
                {
                    case CommandAccepted { Events.Count: 1 }:
                        Interlocked.Increment(ref accepted);
                        return null;
                    case CommandAccepted other:
                        return $"accepted with {other.Events.Count} events instead of 1";
                    case CommandRejected rejected:
                        return $"{rejected.Code}: {rejected.Message}";
                    default:
                        return $"unexpected reply {reply}";
                }
            }

            if (options.Prime)
            {
                // Every aggregate once (live aggregates in the window), and their notifications consumed before it opens.
                await LoadDriver.RunAsync(new LoadSpec(options.Callers, TimeSpan.Zero, null, TimeSpan.Zero, ids.PerCaller), SendAsync, scope, null, cancellationToken)
                    .ConfigureAwait(false);
                scope.Phase("consuming the priming's notifications");
                primed = Interlocked.Read(ref accepted);
                await new Watch(statistics, new BrokerCounts(0, 0, 0, 0, 0, 0, 0), primed, scope)
                    .RunAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
            }

            if (options.Warmup > TimeSpan.Zero)
            {
                // On this host, not a discarded one: the runtime keeps JIT-compiling (tier 1, and the data layer's
                // queries of a new host) for many seconds; that CPU would land in the window of a 2-core machine.
                var warm = Interlocked.Read(ref accepted);
                await LoadDriver.RunAsync(new LoadSpec(options.Callers, options.Warmup, null, TimeSpan.Zero), SendAsync, scope, null, cancellationToken)
                    .ConfigureAwait(false);
                scope.Phase("consuming the warm-up's notifications");
                await new Watch(statistics, new BrokerCounts(0, 0, 0, 0, 0, 0, 0), Interlocked.Read(ref accepted), scope)
                    .RunAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
                progress.Log(string.Create(CultureInfo.InvariantCulture, $"{label}: warm-up of {Interlocked.Read(ref accepted) - warm:N0} commands, all consumed"));
            }

            primed = Interlocked.Read(ref accepted);
            var before = statistics.Snapshot();
            side.Reset();
            var watch = new Watch(statistics, before, messages, scope);
            long opened = 0;
            var cpuBefore = TimeSpan.Zero;
            var allocatedBefore = 0L;
            var runtimeBefore = default(RuntimeCounters);
            TimeSpan? brokerCpuBefore = null;
            var gauges = new LoadGauges(null, WindowOpened: () =>
            {
                brokerCpuBefore = BrokerProcessCpu.Now();
                cpuBefore = Environment.CpuUsage.TotalTime;
                allocatedBefore = GC.GetTotalAllocatedBytes(true);
                runtimeBefore = RuntimeCounters.Now();
                Volatile.Write(ref opened, Stopwatch.GetTimestamp());
            });
            var watching = Task.Run(async () =>
            {
                while (Volatile.Read(ref opened) == 0)
                {
                    await Task.Delay(1, cancellationToken).ConfigureAwait(false);
                }

                await watch.RunAsync(Volatile.Read(ref opened), cancellationToken).ConfigureAwait(false);
            }, cancellationToken);
            var load = await LoadDriver.RunAsync(new LoadSpec(options.Callers, options.Duration, messages, TimeSpan.Zero), SendAsync, scope, gauges, cancellationToken)
                .ConfigureAwait(false);
            watch.Target = Interlocked.Read(ref accepted) - primed; // fewer than N when commands failed
            scope.Phase("consuming");
            await watching.ConfigureAwait(false);
            var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
            var brokerCpu = BrokerProcessCpu.Now() - brokerCpuBefore;
            var allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
            var runtime = RuntimeCounters.Now() - runtimeBefore;
            var start = Volatile.Read(ref opened);
            var total = Stopwatch.GetElapsedTime(start, watch.ConsumedAt);
            var published = Stopwatch.GetElapsedTime(start, watch.PublishedAt);
            var delivery = side.Delivery;
            var target = watch.Target;
            var seconds = Math.Max(total.TotalSeconds, 1e-9);
            var batch = options.PublisherBatch ?? BenchBroker.DefaultPublisherBatch;
            result = Runs.Build("broker", EndToEnd, db.Name, round, load, options.Callers, 1) with
            {
                Messages = target,
                MessagesPerSec = Math.Round(target / seconds, 1),
                PublishedPerSec = Math.Round(target / Math.Max(published.TotalSeconds, 1e-9), 1),
                DurationSec = Math.Round(seconds, 3),
                AllocatedBytesPerCommand = target == 0 ? 0 : (double)allocated / target,
                CpuUsPerCommand = target == 0 ? null : Math.Round(cpu.TotalMicroseconds / target, 1),
                BrokerCpuUsPerMessage = brokerCpu is { } spent && target > 0 ? Math.Round(spent.TotalMicroseconds / target, 1) : null,
                ProcessCpuShare = Math.Round(cpu.TotalSeconds / (seconds * Environment.ProcessorCount), 3),
                PeakWorkingSetBytes = Math.Max(load.PeakWorkingSet, Environment.WorkingSet),
                DeliveryP50Ms = delivery.TotalCount > 0 ? delivery.GetValueAtPercentile(50) / 1000.0 : null,
                DeliveryP99Ms = delivery.TotalCount > 0 ? delivery.GetValueAtPercentile(99) / 1000.0 : null,
                Runtime = runtime.ToString(),
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"{target:N0} commands of 1 event → {target:N0} notices ({BenchBroker.BodyOf(new BenchNotice("a0", 0, BenchAggregate.PayloadOf(options.PayloadBytes), DateTimeOffset.UtcNow)).Length} B JSON); " +
                    $"commands done at {load.Elapsed.TotalMilliseconds:N0} ms, last confirm at {published.TotalMilliseconds:N0} ms ({watch.ConsumedAtPublished:N0} consumed by then), " +
                    $"last consumed at {total.TotalMilliseconds:N0} ms; " +
                    $"publisher batch {batch}, poll {(options.PublisherPollInterval is { } poll ? $"{poll.TotalMilliseconds:0.#} ms" : "0 (default)")}, prefetch {options.Prefetch}, " +
                    $"de-dup {(options.Deduplicate ? "on" : "off")}, {ids.InUse} aggregates; broker counts {Describe(statistics.Snapshot(), before)}; " +
                    $"cmd latency p50/p99 {load.PercentileMs(50):0.0}/{load.PercentileMs(99):0.0} ms; {JournalTuning.Describe(host.System)}"),
            };
            scope.Phase("stopping host");
        }
        finally
        {
            await RawBroker.DeleteAsync(uri, exchange, queue).ConfigureAwait(false);
        }

        progress.RunFinished(label, result);
        return result;
    }

    private static string Describe(BrokerCounts now, BrokerCounts before) => string.Create(CultureInfo.InvariantCulture,
        $"published {now.Published - before.Published}, consumed {now.Consumed - before.Consumed}, de-duplicated {now.Deduplicated - before.Deduplicated}, " +
        $"retries {now.Retries - before.Retries}, dead-lettered {now.DeadLettered - before.DeadLettered}");

    /// <summary>
    /// The runtime's subscriber alone: N notices published raw to the run's queue first, then a host started whose
    /// subscriber drains it (its publisher has nothing to send); messages/s from the first message consumed to the last.
    /// </summary>
    private static async Task<BenchResult> SubscriberOnlyAsync(
        BenchOptions options, BenchDatabase database, string uri, int messages, int round, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var label = Label(round, SubscriberOnly);
        var scope = new BenchProgressScope(progress, label);
        progress.RunStarted(label);
        scope.Phase("filling the queue");
        var (exchange, queue) = NewNames();
        // The first messages warm the host up (JIT); the window opens once they are consumed.
        var warmup = options.Warmup > TimeSpan.Zero ? Math.Min(messages, 10_000) : 0;
        await using var db = await BenchDb.CreateAsync(database, cancellationToken).ConfigureAwait(false);
        BenchResult result;
        try
        {
            await using (var connection = await RawBroker.ConnectAsync(uri, cancellationToken).ConfigureAwait(false))
            {
                await RawBroker.DeclareAsync(connection, exchange, queue, cancellationToken).ConfigureAwait(false);
                await RawBroker.PublishAsync(connection, exchange, warmup + messages, options.PublisherBatch ?? BenchBroker.DefaultPublisherBatch, options.PayloadBytes,
                    LoadDriver.NewHistogram(), unlimited: false, cancellationToken).ConfigureAwait(false);
            }

            scope.Phase("starting host");
            var broker = new BenchBrokerSettings(uri, exchange, queue, options.Prefetch, options.PublisherBatch, options.PublisherPollInterval, options.Deduplicate);
            var settings = PipelineHostSettings.From(options) with { HandlersPerEvent = 0, ReplyMode = ReplyMode.AfterPersist, Broker = broker };
            await using var host = await BenchHost.StartAsync(db, settings, cancellationToken).ConfigureAwait(false);
            var statistics = host.Host.Services.GetRequiredService<BrokerStatistics>();
            scope.Phase(warmup > 0 ? "warm-up" : "consuming");
            var waited = Stopwatch.StartNew();
            var seen = 0L;
            while (statistics.Snapshot().Consumed is var soFar && soFar <= warmup)
            {
                if (soFar != seen)
                {
                    seen = soFar;
                    waited.Restart();
                }
                else if (waited.Elapsed > StallTimeout)
                {
                    throw new TimeoutException($"broker: the subscriber consumed {soFar} of its pre-filled queue and then nothing for {StallTimeout.TotalSeconds:0} s.");
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }

            scope.Phase("consuming");

            var first = statistics.Snapshot();
            var window = ProcessWindow.Open();
            var consumed = warmup + messages - first.Consumed;
            var watch = new Watch(statistics, first, consumed, scope);
            var started = Stopwatch.GetTimestamp();
            await watch.RunAsync(started, cancellationToken).ConfigureAwait(false);
            var side = host.Host.Services.GetRequiredService<BenchBrokerSide>();
            result = window.Close(consumed, Stopwatch.GetElapsedTime(started, watch.ConsumedAt), side.Delivery)
                .Result(SubscriberOnly, db.Name, round, options.Prefetch) with
            {
                Scenario = "broker",
                Messages = messages,
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"{nameof(BenchNoticeSubscriber)} draining {warmup + messages:N0} notices published raw before the host started (the first {warmup:N0} warm it up, unmeasured); prefetch {options.Prefetch}, " +
                    $"de-dup {(options.Deduplicate ? "on (one ae_processed_events transaction per message)" : "off")}; rate from consumed {first.Consumed:N0} to the last; " +
                    $"broker counts {Describe(statistics.Snapshot(), new BrokerCounts(0, 0, 0, 0, 0, 0, 0))}; latency raw publish → subscriber run (includes the wait in the queue while the host started)"),
            };
            scope.Phase("stopping host");
        }
        finally
        {
            await RawBroker.DeleteAsync(uri, exchange, queue).ConfigureAwait(false);
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>Raw publish of N to a fresh queue, then a raw consumer drains it.</summary>
    private static async Task<(BenchResult Publish, BenchResult Consume)> RawPublishThenConsumeAsync(
        BenchOptions options, BenchDatabase database, string uri, int messages, int round, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var batch = options.PublisherBatch ?? BenchBroker.DefaultPublisherBatch;
        var (exchange, queue) = NewNames();
        BenchResult publish;
        BenchResult consume;
        try
        {
            await using var connection = await RawBroker.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            await RawBroker.DeclareAsync(connection, exchange, queue, cancellationToken).ConfigureAwait(false);

            var label = Label(round, RawPublish);
            progress.RunStarted(label);
            new BenchProgressScope(progress, label).Phase("publishing");
            var batches = LoadDriver.NewHistogram();
            var window = ProcessWindow.Open();
            var elapsed = await RawBroker.PublishAsync(connection, exchange, messages, batch, options.PayloadBytes, batches, unlimited: false, cancellationToken)
                .ConfigureAwait(false);
            publish = window.Close(messages, elapsed, batches).Result(RawPublish, BenchDb.NameOf(database), round, 1) with
            {
                PublishedPerSec = Math.Round(messages / elapsed.TotalSeconds, 1),
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"RabbitMQ.Client, confirms + tracking (default limiter), {messages:N0} persistent messages in batches of {batch}, every publish of a batch awaited together; latency per batch"),
            };
            progress.RunFinished(label, publish);

            label = Label(round, RawConsume);
            progress.RunStarted(label);
            new BenchProgressScope(progress, label).Phase("consuming");
            var acks = LoadDriver.NewHistogram();
            window = ProcessWindow.Open();
            var started = Stopwatch.GetTimestamp();
            await using (var consumer = await RawBroker.Consumer.StartAsync(connection, queue, options.Prefetch, messages, acks, deliveryLatency: false, cancellationToken)
                             .ConfigureAwait(false))
            {
                var done = await AwaitAsync(consumer, cancellationToken).ConfigureAwait(false);
                consume = window.Close(messages, Stopwatch.GetElapsedTime(started, done), acks).Result(RawConsume, BenchDb.NameOf(database), round, options.Prefetch) with
                {
                    Notes = string.Create(CultureInfo.InvariantCulture,
                        $"the {messages:N0} messages of raw publish drained by one consumer, prefetch {options.Prefetch} (as many running at once), each acked; latency delivery → ack"),
                };
            }

            progress.RunFinished(label, consume);
        }
        finally
        {
            await RawBroker.DeleteAsync(uri, exchange, queue).ConfigureAwait(false);
        }

        return (publish, consume);
    }

    /// <summary>A raw consumer running while a raw publisher sends N: from the first publish to the last ack.</summary>
    private static async Task<BenchResult> RawBothAsync(
        BenchOptions options, BenchDatabase database, string uri, int messages, int? round, bool unlimited, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var variant = unlimited ? RawBothUnlimited : RawBoth;
        var label = Label(round, variant);
        progress.RunStarted(label);
        new BenchProgressScope(progress, label).Phase("publishing and consuming");
        var batch = options.PublisherBatch ?? BenchBroker.DefaultPublisherBatch;
        var (exchange, queue) = NewNames();
        BenchResult result;
        try
        {
            await using var connection = await RawBroker.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            await RawBroker.DeclareAsync(connection, exchange, queue, cancellationToken).ConfigureAwait(false);
            var deliveries = LoadDriver.NewHistogram();
            await using var consumer = await RawBroker.Consumer.StartAsync(connection, queue, options.Prefetch, messages, deliveries, deliveryLatency: true, cancellationToken)
                .ConfigureAwait(false);
            var window = ProcessWindow.Open();
            var started = Stopwatch.GetTimestamp();
            var published = await RawBroker.PublishAsync(connection, exchange, messages, batch, options.PayloadBytes, LoadDriver.NewHistogram(), unlimited, cancellationToken)
                .ConfigureAwait(false);
            var done = await AwaitAsync(consumer, cancellationToken).ConfigureAwait(false);
            result = window.Close(messages, Stopwatch.GetElapsedTime(started, done), deliveries).Result(variant, BenchDb.NameOf(database), round, options.Prefetch) with
            {
                PublishedPerSec = Math.Round(messages / published.TotalSeconds, 1),
                DeliveryP50Ms = deliveries.GetValueAtPercentile(50) / 1000.0,
                DeliveryP99Ms = deliveries.GetValueAtPercentile(99) / 1000.0,
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"one connection: a publisher channel (confirms + tracking, {(unlimited ? "outstanding-confirms limiter off" : "the client's default limiter of 128 outstanding confirms")}) sending " +
                    $"{messages:N0} persistent messages in batches of {batch}, and a consumer channel, prefetch {options.Prefetch}, acking each; " +
                    $"last confirm at {published.TotalMilliseconds:N0} ms; latency publish → ack"),
            };
        }
        finally
        {
            await RawBroker.DeleteAsync(uri, exchange, queue).ConfigureAwait(false);
        }

        progress.RunFinished(label, result);
        return result;
    }

    /// <summary>The consumer's completion, failing when it stops making progress.</summary>
    private static async Task<long> AwaitAsync(RawBroker.Consumer consumer, CancellationToken cancellationToken)
    {
        var last = -1L;
        var lastProgress = Stopwatch.GetTimestamp();
        while (true)
        {
            var finished = await Task.WhenAny(consumer.Done, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken)).ConfigureAwait(false);
            if (finished == consumer.Done)
            {
                return await consumer.Done.ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (consumer.Acked != last)
            {
                last = consumer.Acked;
                lastProgress = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > StallTimeout)
            {
                throw new TimeoutException($"The raw consumer acked {last} messages and then none for {StallTimeout.TotalSeconds:0} s.");
            }
        }
    }

    private static string Redacted(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.UserInfo.Length > 0 ? uri.Replace(parsed.UserInfo + "@", "…@", StringComparison.Ordinal) : uri;

    /// <summary>Waits until the broker counters show <see cref="Target"/> messages confirmed and consumed past <c>before</c>, noting when each happened.</summary>
    private sealed class Watch(BrokerStatistics statistics, BrokerCounts before, long target, BenchProgressScope scope)
    {
        private long _target = target;

        /// <summary>How many messages to wait for (lowered when commands failed).</summary>
        public long Target
        {
            get => Interlocked.Read(ref _target);
            set => Interlocked.Exchange(ref _target, value);
        }

        public long PublishedAt { get; private set; }

        /// <summary>Messages consumed when the last one was confirmed.</summary>
        public long ConsumedAtPublished { get; private set; }

        public long ConsumedAt { get; private set; }

        public async Task RunAsync(long started, CancellationToken cancellationToken)
        {
            var lastCount = -1L;
            var lastProgress = Stopwatch.GetTimestamp();
            var lastReport = 0L;
            while (true)
            {
                var now = statistics.Snapshot();
                var at = Stopwatch.GetTimestamp();
                var published = now.Published - before.Published;
                var consumed = now.Consumed - before.Consumed;
                var goal = Target;
                if (PublishedAt == 0 && published >= goal)
                {
                    PublishedAt = at;
                    ConsumedAtPublished = consumed;
                }

                if (consumed >= goal)
                {
                    ConsumedAt = at;
                    if (PublishedAt == 0)
                    {
                        PublishedAt = at;
                        ConsumedAtPublished = consumed;
                    }

                    return;
                }

                if (published + consumed != lastCount)
                {
                    lastCount = published + consumed;
                    lastProgress = at;
                }
                else if (Stopwatch.GetElapsedTime(lastProgress, at) > StallTimeout)
                {
                    throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                        $"broker: {published} of {goal} notifications confirmed and {consumed} consumed, and no progress for {StallTimeout.TotalSeconds:0} s."));
                }

                if (Stopwatch.GetElapsedTime(lastReport, at) > TimeSpan.FromMilliseconds(250))
                {
                    lastReport = at;
                    var seconds = Math.Max(Stopwatch.GetElapsedTime(started, at).TotalSeconds, 1e-3);
                    scope.Detail(goal == 0 ? 1 : Math.Min(1, (double)consumed / goal),
                        string.Create(CultureInfo.InvariantCulture, $"{published:N0} confirmed · {consumed:N0} consumed · {consumed / seconds:N0}/s"));
                }

                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The process's CPU, allocations and runtime counters over a raw run.</summary>
    private sealed class ProcessWindow
    {
        private readonly TimeSpan _cpu = Environment.CpuUsage.TotalTime;
        private readonly long _allocated = GC.GetTotalAllocatedBytes(true);
        private readonly RuntimeCounters _runtime = RuntimeCounters.Now();
        private readonly TimeSpan? _brokerCpu = BrokerProcessCpu.Now();
        private LoadResult? _load;
        private TimeSpan? _brokerSpent;

        public static ProcessWindow Open() => new();

        public ProcessWindow Close(long messages, TimeSpan elapsed, HistogramBase latency)
        {
            _load = new LoadResult(messages, 0, null, elapsed, latency, GC.GetTotalAllocatedBytes(true) - _allocated, Environment.WorkingSet, null, 0, 0,
                Environment.CpuUsage.TotalTime - _cpu, RuntimeCounters.Now() - _runtime, null);
            _brokerSpent = BrokerProcessCpu.Now() - _brokerCpu;
            return this;
        }

        public BenchResult Result(string variant, string db, int? round, int callers)
        {
            var load = _load ?? throw new InvalidOperationException("The window is still open.");
            return Runs.Build("raw-rabbitmq", variant, db, round, load, callers, 1) with
            {
                Messages = load.Commands,
                MessagesPerSec = Math.Round(load.PerSecond(load.Commands), 1),
                BrokerCpuUsPerMessage = _brokerSpent is { } spent && load.Commands > 0 ? Math.Round(spent.TotalMicroseconds / load.Commands, 1) : null,
            };
        }
    }
}
