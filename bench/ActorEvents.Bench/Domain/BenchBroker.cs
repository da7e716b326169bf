using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Bench.Infrastructure;
using ActorEvents.Broker;
using ActorEvents.Broker.Subscribing;
using HdrHistogram;

namespace ActorEvents.Bench.Domain;

/// <summary>The public contract of the bench's notification <c>bench.notice</c> v1: one per <see cref="BenchEvent"/>.</summary>
/// <param name="AggregateId">Aggregate that emitted the event.</param>
/// <param name="Index">Position of the event within its command.</param>
/// <param name="Payload">The event's filler (the same size, so the message is as large as the event).</param>
/// <param name="DecidedAt">When the aggregate decided the event (the raw publisher: when it published the message).</param>
public sealed record BenchNotice(string AggregateId, int Index, string Payload, DateTimeOffset DecidedAt);

/// <summary>
/// The bench's subscriber: de-duplicated by message id (its effect is the <c>ae_processed_events</c> row committed before
/// the ack), it only counts the message and records how long it took from the event's decision to this run.
/// </summary>
/// <param name="side">Counts and latencies.</param>
public sealed class BenchNoticeSubscriber(BenchBrokerSide side) : ISubscriber<BenchNotice>
{
    /// <inheritdoc />
    public Task<SubscriberResult> HandleAsync(BenchNotice message, SubscriberContext context)
    {
        side.Received(message.DecidedAt);
        return Task.FromResult(SubscriberResult.Ack);
    }
}

/// <summary>What the bench subscriber saw: runs, and the time from an event's decision to its run (a singleton per host).</summary>
public sealed class BenchBrokerSide
{
    private HistogramBase _delivery = LoadDriver.NewHistogram();
    private long _runs;

    /// <summary>Subscriber runs so far (a retried or de-duplicated message is not counted twice; a run rolled back would be).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Starts a fresh delivery histogram.</summary>
    public void Reset() => Volatile.Write(ref _delivery, LoadDriver.NewHistogram());

    /// <summary>The delivery latencies since <see cref="Reset"/>, in microseconds.</summary>
    public HistogramBase Delivery => Volatile.Read(ref _delivery);

    internal void Received(DateTimeOffset decidedAt)
    {
        LoadDriver.Record(Volatile.Read(ref _delivery), DateTimeOffset.UtcNow - decidedAt);
        Interlocked.Increment(ref _runs);
    }
}

/// <summary>The broker wiring of one bench host.</summary>
/// <param name="Uri">AMQP URI.</param>
/// <param name="Exchange">The run's own exchange (a durable topic exchange).</param>
/// <param name="Queue">The run's own queue (durable), bound with <see cref="BenchBroker.Contract"/>.</param>
/// <param name="Prefetch">The subscriber's prefetch.</param>
/// <param name="PublisherBatch">The publisher subscription's batch size (and checkpoint interval); null: the runtime's.</param>
/// <param name="PublisherPollInterval">The publisher subscription's poll interval; null: the runtime's.</param>
/// <param name="Deduplicate">The subscriber de-duplicates by message id.</param>
public sealed record BenchBrokerSettings(string Uri, string Exchange, string Queue, int Prefetch, int? PublisherBatch, TimeSpan? PublisherPollInterval, bool Deduplicate);

/// <summary>The bench domain's notification and subscriber.</summary>
public static class BenchBroker
{
    /// <summary>The contract name, also the routing key and the queue's binding.</summary>
    public const string Contract = "bench.notice";

    /// <summary>The publisher's batch size when none is configured (what <see cref="BrokerDomainExtensions.UseBroker"/> sets).</summary>
    public const int DefaultPublisherBatch = 500;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The contract's JSON, as the publisher writes it (web defaults).</summary>
    public static byte[] BodyOf(BenchNotice notice) => JsonSerializer.SerializeToUtf8Bytes(notice, Json);

    /// <summary>Reads a body written by <see cref="BodyOf"/>.</summary>
    public static BenchNotice? Read(ReadOnlySpan<byte> body) => JsonSerializer.Deserialize<BenchNotice>(body, Json);

    /// <summary>Publishes every <see cref="BenchEvent"/> as <c>bench.notice</c> and consumes the run's queue with <see cref="BenchNoticeSubscriber"/>.</summary>
    public static ActorEventsDomainBuilder AddBenchBroker(this ActorEventsDomainBuilder domain, BenchBrokerSettings settings) =>
        domain.UseBroker(broker =>
        {
            broker.Publish<BenchEvent, BenchNotice>(Contract, 1, (e, envelope) => new BenchNotice(e.AggregateId, e.Index, e.Payload, envelope.OccurredAt));
            if (settings.PublisherBatch is not null || settings.PublisherPollInterval is not null)
            {
                broker.Publisher(options =>
                {
                    if (settings.PublisherBatch is { } batch)
                    {
                        options.BatchSize = batch;
                        options.CheckpointEvery = batch;
                    }

                    if (settings.PublisherPollInterval is { } poll)
                    {
                        options.PollInterval = poll;
                    }
                });
            }

            broker.AddSubscriber<BenchNoticeSubscriber>(settings.Queue, subscriber =>
            {
                subscriber.Bindings.Add(Contract);
                subscriber.Prefetch = settings.Prefetch;
                subscriber.Deduplicate = settings.Deduplicate;
            });
        });
}
