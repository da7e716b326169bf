using System.Collections.Concurrent;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Projections;
using ActorEvents.Broker;
using ActorEvents.Broker.Hosting;
using ActorEvents.Broker.Subscribing;
using ActorEvents.Messages;
using ActorEvents.Tests.Subscriptions;
using Akka.Hosting;
using LinqToDB;
using LinqToDB.Data;
using LinqToDB.Mapping;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Tests.Broker;

public interface IParcelCommand : ICommand
{
    string ParcelId { get; }

    string ICommand.AggregateId => ParcelId;
}

/// <summary>Dispatches <paramref name="Count"/> parcels of <paramref name="Weight"/> each (weight 0: the notification map publishes nothing).</summary>
[MessageName("parcel.dispatch")]
public sealed record DispatchParcels(string ParcelId, int Count, int Weight = 1) : IParcelCommand;

/// <summary>Weighs the parcel (published under another contract, with a configured routing key).</summary>
[MessageName("parcel.weigh")]
public sealed record WeighParcel(string ParcelId, int Grams) : IParcelCommand;

/// <summary>Notes something on the parcel (never published).</summary>
[MessageName("parcel.note")]
public sealed record NoteParcel(string ParcelId, string Text) : IParcelCommand;

/// <summary>Returns the parcel: <see cref="ParcelReturned"/>, or its subtype <see cref="ParcelReturnedDamaged"/> when it came back damaged.</summary>
[MessageName("parcel.return")]
public sealed record ReturnParcel(string ParcelId, string? Damage = null) : IParcelCommand;

/// <summary>What a subscriber sends back for a notification (the anti-corruption case).</summary>
[MessageName("parcel.confirm-delivery")]
public sealed record ConfirmDelivery(string ParcelId, string Reference) : IParcelCommand;

public interface IParcelEvent : IEvent;

[MessageName("parcel.dispatched")]
public sealed record ParcelDispatched(string ParcelId, int Index, int Weight) : IParcelEvent;

[MessageName("parcel.weighed")]
public sealed record ParcelWeighed(string ParcelId, int Grams) : IParcelEvent;

[MessageName("parcel.noted")]
public sealed record ParcelNoted(string ParcelId, string Text) : IParcelEvent;

[MessageName("parcel.delivery-confirmed")]
public sealed record DeliveryConfirmed(string ParcelId, string Reference) : IParcelEvent;

/// <summary>A returned parcel: not sealed, its subtype is an event type of its own.</summary>
[MessageName("parcel.returned")]
public record ParcelReturned(string ParcelId) : IParcelEvent;

[MessageName("parcel.returned-damaged")]
public sealed record ParcelReturnedDamaged(string ParcelId, string Damage) : ParcelReturned(ParcelId);

/// <summary>The public contract <c>parcel.returned</c> v1.</summary>
public sealed record ParcelReturnedNotice(string ParcelId, string? Damage);

/// <summary>The public contract <c>parcel.dispatched</c> v1 (not the event itself).</summary>
public sealed record ParcelDispatchedNotice(string ParcelId, int DispatchIndex, int Weight, DateTimeOffset DispatchedAt);

/// <summary>The public contract <c>parcel.weighed</c> v2.</summary>
public sealed record ParcelWeighedNotice(string ParcelId, decimal Kilograms);

public sealed record ParcelState(int Dispatched);

public sealed class ParcelAggregate : Aggregate<ParcelState, IParcelCommand, IParcelEvent>
{
    public const string TypeName = "parcel";

    public override string Name => TypeName;

    public override ParcelState InitialState => new(0);

    public override CommandExpectation Expect(IParcelCommand command) => CommandExpectation.Any;

    public override Decision<IParcelEvent> Decide(ParcelState state, IParcelCommand command) => command switch
    {
        DispatchParcels d => Decision<IParcelEvent>.Accept(Enumerable.Range(state.Dispatched + 1, d.Count)
            .Select(i => (IParcelEvent)new ParcelDispatched(d.ParcelId, i, d.Weight)).ToArray()),
        WeighParcel w => Decision<IParcelEvent>.Accept(new ParcelWeighed(w.ParcelId, w.Grams)),
        NoteParcel n => Decision<IParcelEvent>.Accept(new ParcelNoted(n.ParcelId, n.Text)),
        ConfirmDelivery c => Decision<IParcelEvent>.Accept(new DeliveryConfirmed(c.ParcelId, c.Reference)),
        ReturnParcel { Damage: { } damage } r => Decision<IParcelEvent>.Accept(new ParcelReturnedDamaged(r.ParcelId, damage)),
        ReturnParcel r => Decision<IParcelEvent>.Accept(new ParcelReturned(r.ParcelId)),
        _ => Decision<IParcelEvent>.Reject("unknown"),
    };

    public override ParcelState Apply(ParcelState state, IParcelEvent @event) =>
        @event is ParcelDispatched ? new ParcelState(state.Dispatched + 1) : state;
}

/// <summary>What the test subscribers saw and how they behave (a singleton of the test's host).</summary>
public sealed class BrokerProbe
{
    /// <summary>Every run of a subscriber: its name, the message id, the attempt.</summary>
    public ConcurrentQueue<(string Subscriber, string MessageId, int Attempt, object Message)> Runs { get; } = new();

    /// <summary>Replies the aggregate gave to commands a subscriber sent.</summary>
    public ConcurrentQueue<(string MessageId, CommandResult Result)> Replies { get; } = new();

    /// <summary>Runs before the effect; a result other than null is returned instead of writing it (or it throws).</summary>
    public Func<SubscriberContext, Task<SubscriberResult?>>? Intercept { get; set; }

    public int RunsOf(string subscriber, string messageId) => Runs.Count(r => r.Subscriber == subscriber && r.MessageId == messageId);

    public int RunsOf(string subscriber) => Runs.Count(r => r.Subscriber == subscriber);

    /// <summary>Runs the interception, or registers the effect row and acknowledges.</summary>
    public async Task<SubscriberResult> HandleAsync(object message, SubscriberContext context, string parcelId, int index)
    {
        Runs.Enqueue((context.Subscriber, context.Message.MessageId, context.Attempt, message));
        if (Intercept is { } intercept && await intercept(context) is { } result)
        {
            return result;
        }

        var row = new BrokerEffectRow { Subscriber = context.Subscriber, MessageId = context.Message.MessageId, ParcelId = parcelId, DispatchIndex = index };
        context.UnitOfWork.Write((db, token) => db.InsertAsync(row, token: token));
        return SubscriberResult.Ack;
    }
}

/// <summary>Takes the contract; writes one effect row per message through its unit of work.</summary>
public sealed class ParcelNoticeSubscriber(BrokerProbe probe) : ISubscriber<ParcelDispatchedNotice>
{
    public Task<SubscriberResult> HandleAsync(ParcelDispatchedNotice message, SubscriberContext context) =>
        probe.HandleAsync(message, context, message.ParcelId, message.DispatchIndex);
}

/// <summary>Takes the raw message; writes one effect row per message.</summary>
public sealed class RawParcelSubscriber(BrokerProbe probe) : ISubscriber<BrokerMessage>
{
    public Task<SubscriberResult> HandleAsync(BrokerMessage message, SubscriberContext context) => probe.HandleAsync(message, context, "raw", 0);
}

/// <summary>The anti-corruption case: a notification becomes a command of ours, its id derived from the message id.</summary>
public sealed class DeliveryConfirmingSubscriber(BrokerProbe probe, IActorEventsClient client) : ISubscriber<ParcelDispatchedNotice>
{
    public async Task<SubscriberResult> HandleAsync(ParcelDispatchedNotice message, SubscriberContext context)
    {
        probe.Runs.Enqueue((context.Subscriber, context.Message.MessageId, context.Attempt, message));
        var result = await client.SendAsync(new ConfirmDelivery(message.ParcelId, $"delivery-{message.DispatchIndex}"), context.CommandMetadata(), context.CancellationToken);
        probe.Replies.Enqueue((context.Message.MessageId, result));
        return result is CommandAccepted ? SubscriberResult.Ack : throw new InvalidOperationException($"not persisted: {result}");
    }
}

[Table("test_broker_effects")]
public sealed class BrokerEffectRow
{
    [PrimaryKey, Identity, Column("id")]
    public long Id { get; set; }

    [Column("subscriber", Length = 200), NotNull]
    public string Subscriber { get; set; } = string.Empty;

    [Column("message_id", Length = 200), NotNull]
    public string MessageId { get; set; } = string.Empty;

    [Column("parcel_id", Length = 200), NotNull]
    public string ParcelId { get; set; } = string.Empty;

    [Column("dispatch_index"), NotNull]
    public int DispatchIndex { get; set; }
}

/// <summary>The effect table (no key on the message id: an effect applied twice shows as two rows).</summary>
public sealed class BrokerEffectsSchema : IReadModelSchema
{
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<BrokerEffectRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);
}

/// <summary>
/// One broker test: its own SQLite file, exchange and queues (deleted at the end), the probe, and hosts of the parcel
/// domain built through the production wiring (<c>AddActorEvents</c>, then <c>AddActorEventsBroker</c>).
/// </summary>
public sealed class BrokerScenario : IAsyncDisposable
{
    public const string Source = "parcel-service";

    private readonly List<string> _queues = [];
    private readonly List<string> _exchanges = [];
    private readonly List<ActorEventsTestHost> _hosts = [];

    public BrokerScenario(string name)
    {
        Exchange = TestBroker.UniqueName($"ae-{name}");
        _exchanges.Add(Exchange);
    }

    public TempSqliteDatabase Database { get; } = new();

    public BrokerProbe Probe { get; } = new();

    public string Exchange { get; }

    /// <summary>A queue name of this test (deleted at the end).</summary>
    public string QueueName(string prefix)
    {
        var queue = TestBroker.UniqueName($"ae-{prefix}");
        _queues.Add(queue);
        return queue;
    }

    /// <summary>Another exchange of this test (deleted at the end).</summary>
    public string ExchangeName(string prefix)
    {
        var exchange = TestBroker.UniqueName($"ae-{prefix}");
        _exchanges.Add(exchange);
        return exchange;
    }

    /// <summary>Declares this test's exchange and a queue on it that sees every message published there.</summary>
    public async Task<string> ObserverQueueAsync(string bindingKey = "#")
    {
        var queue = QueueName("observer");
        await TestBroker.DeclareTopicExchangeAsync(Exchange);
        await TestBroker.DeclareQueueAsync(queue, Exchange, bindingKey);
        return queue;
    }

    /// <summary>Settings (relative to <c>ActorEvents</c>) of a host on this test's database and exchange.</summary>
    public Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = ActorEventsTestHost.SqliteSettings(Database, new Dictionary<string, string?>
        {
            ["Broker:Uri"] = TestBroker.RequiredUri,
            ["Broker:Exchange"] = Exchange,
            ["Broker:Source"] = Source,
            ["Broker:ReconnectInterval"] = "00:00:00.500",
            ["Broker:ConfirmTimeout"] = "00:00:05",
            ["Pipeline:Retry:InitialDelay"] = "00:00:00.050",
            ["Pipeline:Retry:MaxDelay"] = "00:00:00.500",
            ["Pipeline:Retry:Jitter"] = "0",
        });
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Builds a host of the parcel domain with <paramref name="broker"/>'s publications and subscribers.</summary>
    /// <param name="broker">Its notifications and subscribers.</param>
    /// <param name="overrides">Settings that win over <see cref="Settings"/>.</param>
    /// <param name="domain">More of the domain, registered after <paramref name="broker"/> (e.g. another <c>UseBroker</c>).</param>
    public IHost Build(Action<BrokerBuilder> broker, IReadOnlyDictionary<string, string?>? overrides = null, Action<ActorEventsDomainBuilder>? domain = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(Settings(overrides).Select(s =>
            new KeyValuePair<string, string?>($"{ActorEventsOptions.SectionName}:{s.Key}", s.Value)));
        builder.Services.AddSingleton(Probe);
        builder.Services.AddActorEvents(builder.Configuration, parcels =>
        {
            parcels.AddAggregate<ParcelAggregate>().AddReadModelSchema<BrokerEffectsSchema>().UseBroker(broker);
            domain?.Invoke(parcels);
        }, (akka, _) => akka.ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel));
        builder.Services.AddActorEventsBroker(builder.Configuration);
        return builder.Build();
    }

    /// <summary>Builds and starts a host (disposed with the scenario unless the test disposes it first).</summary>
    public async Task<ActorEventsTestHost> StartAsync(Action<BrokerBuilder> broker, IReadOnlyDictionary<string, string?>? overrides = null,
        Action<ActorEventsDomainBuilder>? domain = null)
    {
        var host = await ActorEventsTestHost.StartAsync(Build(broker, overrides, domain));
        _hosts.Add(host);
        // Its subscribers declare and bind their queues in the background: a message published before would be unroutable.
        var registrations = host.Host.Services.GetRequiredService<ActorEventsDomain>().Extension<ActorEvents.Broker.Publishing.BrokerRegistrations>();
        foreach (var subscriber in registrations?.Subscribers ?? [])
        {
            await BrokerQueues.WaitForConsumerAsync(subscriber.Queue);
        }

        return host;
    }

    /// <summary>Stops and disposes a host of this scenario now (a node going away; its unacknowledged messages go back to the queue).</summary>
    public async Task DisposeHostAsync(ActorEventsTestHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }

    /// <summary>Publishes <see cref="ParcelDispatched"/> as <c>parcel.dispatched</c> v1 (nothing for weight 0).</summary>
    public static BrokerBuilder PublishDispatched(BrokerBuilder broker) => broker.Publish<ParcelDispatched, ParcelDispatchedNotice>("parcel.dispatched", 1,
        (e, envelope) => e.Weight == 0 ? null : new ParcelDispatchedNotice(e.ParcelId, e.Index, e.Weight, envelope.OccurredAt));

    /// <summary>Rows of the effect table of <paramref name="subscriber"/>, and distinct message ids among them.</summary>
    public (long Rows, long Distinct) Effects(string subscriber) => (
        Database.Scalar("SELECT COUNT(*) FROM test_broker_effects WHERE subscriber = @s", ("@s", subscriber)),
        Database.Scalar("SELECT COUNT(DISTINCT message_id) FROM test_broker_effects WHERE subscriber = @s", ("@s", subscriber)));

    /// <summary>Processed-event rows of <paramref name="subscriber"/> (its de-duplication record).</summary>
    public long ProcessedRows(string subscriber) => Database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE handler = @s", ("@s", subscriber));

    /// <summary>Dead letters of <paramref name="subscriber"/>.</summary>
    public long DeadLetterRows(string subscriber) => Database.Scalar("SELECT COUNT(*) FROM ae_dead_letters WHERE handler = @s", ("@s", subscriber));

    /// <summary>The stored checkpoint of a subscription (0 when it has none yet).</summary>
    public long StoredCheckpoint(string subscription) =>
        Database.Scalar("SELECT COALESCE(MAX(position), 0) FROM ae_checkpoints WHERE subscription = @s", ("@s", subscription));

    /// <summary>The journal position of the newest event a subscription's source holds (its tag, or the whole journal).</summary>
    public long LastOrdering(string source) => source.Contains(':', StringComparison.Ordinal)
        ? Database.Scalar("SELECT COALESCE(MAX(ordering_id), 0) FROM tags WHERE tag = @t", ("@t", source))
        : Database.Scalar("SELECT COALESCE(MAX(ordering), 0) FROM journal");

    /// <summary>
    /// Waits until the publisher passed the newest event its source holds now and has no lag: every message before it is
    /// confirmed by the broker (a head read before the last write could make a lag of 0 alone mean too little).
    /// </summary>
    public async Task<SubscriptionStatus> WaitUntilPublishedAsync(ActorEventsTestHost host, TimeSpan? timeout = null)
    {
        var name = BrokerBuilder.DefaultPublisherName;
        var last = LastOrdering((await host.StatusAsync(name)).Source);
        SubscriptionStatus? status = null;
        await BrokerQueues.WaitUntilAsync(async () => (status = await host.StatusAsync(name)) is { LagEvents: 0, State: SubscriptionState.Running } s && s.Position >= last,
            $"the publisher passed position {last}", timeout ?? TimeSpan.FromSeconds(60));
        return status!;
    }

    /// <summary>The ids of the <see cref="ParcelDispatched"/> events the journal holds for these parcels (read back through the journal).</summary>
    public static async Task<IReadOnlyList<EventEnvelope>> DispatchedAsync(ActorEventsTestHost host, IEnumerable<string> parcelIds)
    {
        var events = new List<EventEnvelope>();
        foreach (var parcel in parcelIds)
        {
            events.AddRange((await host.ReadStreamAsync(ParcelAggregate.TypeName, parcel)).Where(e => e.Event is ParcelDispatched));
        }

        return events;
    }

    /// <summary>The broker statistics of a host.</summary>
    public static BrokerCounts Counts(ActorEventsTestHost host) => host.Host.Services.GetRequiredService<BrokerStatistics>().Snapshot();

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            try
            {
                await host.DisposeAsync();
            }
            catch (Exception)
            {
                // Disposed by the test already.
            }
        }

        foreach (var queue in _queues)
        {
            await TestBroker.DeleteQueueAsync(queue);
        }

        foreach (var exchange in _exchanges)
        {
            await TestBroker.DeleteExchangeAsync(exchange);
        }

        Database.Dispose();
    }
}
