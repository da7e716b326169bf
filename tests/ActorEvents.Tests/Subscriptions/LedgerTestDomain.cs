using System.Collections.Concurrent;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// The subscription tests that may run on PostgreSQL share its tables and this process's ledger tag: they run one after
/// another (tests on a SQLite file of their own need not).
/// </summary>
[CollectionDefinition(Name)]
public sealed class SubscriptionGroup
{
    public const string Name = "subscriptions";
}

public interface ILedgerCommand : ICommand
{
    string LedgerId { get; }

    string ICommand.AggregateId => LedgerId;
}

/// <summary>Records <paramref name="Count"/> entries of <paramref name="Amount"/> each.</summary>
[MessageName("ledger.record")]
public sealed record Record(string LedgerId, int Count, int Amount = 1) : ILedgerCommand;

public interface ILedgerEvent : IEvent;

[MessageName("ledger.recorded")]
public sealed record Recorded(string LedgerId, int Index, int Amount) : ILedgerEvent;

/// <summary>What <see cref="Recorded"/> is called once a test has renamed it in the journal (registered only where a test says so).</summary>
[MessageName("ledger.archived")]
public sealed record Archived(string LedgerId, int Index, int Amount) : IEvent; // not an ILedgerEvent: the aggregate does not register it

public sealed record LedgerState(int Entries);

/// <summary>
/// Its name is new in every test process, so that on the shared PostgreSQL database its tag
/// (<c>aggregate:ledger-…</c>) holds only this run's events.
/// </summary>
public sealed class LedgerAggregate : Aggregate<LedgerState, ILedgerCommand, ILedgerEvent>
{
    public static readonly string TypeName = $"ledger_{Guid.NewGuid():N}"[..15];

    public static string Tag => AggregateTags.AggregatePrefix + TypeName;

    public override string Name => TypeName;

    public override LedgerState InitialState => new(0);

    public override CommandExpectation Expect(ILedgerCommand command) => CommandExpectation.Any;

    public override Decision<ILedgerEvent> Decide(LedgerState state, ILedgerCommand command) => command switch
    {
        Record r => Decision<ILedgerEvent>.Accept(Enumerable.Range(state.Entries + 1, r.Count).Select(i => (ILedgerEvent)new Recorded(r.LedgerId, i, r.Amount)).ToArray()),
        _ => Decision<ILedgerEvent>.Reject("unknown"),
    };

    public override LedgerState Apply(LedgerState state, ILedgerEvent @event) => @event is Recorded ? new LedgerState(state.Entries + 1) : state;
}

/// <summary>Every delivery a durable handler saw, in this process (several hosts may share it).</summary>
public sealed class DeliveryLog
{
    /// <summary>Events the <see cref="FailingLedgerHandler"/> fails on, for good, while it returns true.</summary>
    public Func<Recorded, bool> FailOn { get; set; } = _ => false;

    /// <summary>While true, the <see cref="LedgerProjector"/> throws on entries of <see cref="LedgerProjector.PoisonAmount"/>.</summary>
    public bool ProjectorPoisoned { get; set; } = true;


    public ConcurrentQueue<(string Handler, string EventId, string LedgerId, int Index, string Node, DateTime At)> Deliveries { get; } = new();

    public int Count(string handler, string ledgerPrefix) => Deliveries.Count(d => d.Handler == handler && d.LedgerId.StartsWith(ledgerPrefix, StringComparison.Ordinal));

    public int Distinct(string handler, string ledgerPrefix) =>
        Deliveries.Where(d => d.Handler == handler && d.LedgerId.StartsWith(ledgerPrefix, StringComparison.Ordinal)).Select(d => d.EventId).Distinct().Count();
}

/// <summary>Naturally idempotent (it only observes): sees every delivery, redeliveries included.</summary>
[NaturallyIdempotent]
public sealed class DeliveryProbeHandler(DeliveryLog log, ActorSystem system) : IHandle<Recorded>
{
    public Task HandleAsync(Recorded @event, EventContext context)
    {
        log.Deliveries.Enqueue((context.HandlerName, context.Envelope.EventId, @event.LedgerId, @event.Index, Cluster.Get(system).SelfAddress.ToString(), DateTime.UtcNow));
        return Task.CompletedTask;
    }
}

/// <summary>
/// Not idempotent on its own (it adds), made exactly-once by its unit of work: the addition commits with the
/// processed-event record. Also logs its deliveries that got past the guard.
/// </summary>
public sealed class LedgerEffectsHandler(DeliveryLog log, ActorSystem system) : IHandle<Recorded>
{
    public Task HandleAsync(Recorded @event, EventContext context)
    {
        log.Deliveries.Enqueue((context.HandlerName, context.Envelope.EventId, @event.LedgerId, @event.Index, Cluster.Get(system).SelfAddress.ToString(), DateTime.UtcNow));
        Add(context, @event.LedgerId, @event.Amount);
        return Task.CompletedTask;
    }

    /// <summary>Registers the addition of one entry of <paramref name="amount"/> to the handler's row of a ledger with the unit of work.</summary>
    public static void Add(EventContext context, string ledgerId, int amount)
    {
        var handler = context.HandlerName;
        context.UnitOfWork().Write((db, token) => db.GetTable<LedgerEffectRow>().InsertOrUpdateAsync(
            () => new LedgerEffectRow { Handler = handler, LedgerId = ledgerId, Applied = 1, AmountSum = amount },
            row => new LedgerEffectRow { Applied = row.Applied + 1, AmountSum = row.AmountSum + amount },
            token: token));
    }
}

/// <summary>Like <see cref="LedgerEffectsHandler"/>, but fails permanently on the events <see cref="DeliveryLog.FailOn"/> names.</summary>
public sealed class FailingLedgerHandler(DeliveryLog log, ActorSystem system) : IHandle<Recorded>
{
    public Task HandleAsync(Recorded @event, EventContext context) => log.FailOn(@event)
        ? throw new PermanentHandlerException($"entry {@event.Index} of {@event.LedgerId} is refused")
        : new LedgerEffectsHandler(log, system).HandleAsync(@event, context);
}

[Table("test_ledger_effects")]
public sealed class LedgerEffectRow
{
    [PrimaryKey(0), Column("handler", Length = 200), NotNull]
    public string Handler { get; set; } = string.Empty;

    [PrimaryKey(1), Column("ledger_id", Length = 200), NotNull]
    public string LedgerId { get; set; } = string.Empty;

    [Column("applied"), NotNull]
    public long Applied { get; set; }

    [Column("amount_sum"), NotNull]
    public long AmountSum { get; set; }
}

public sealed class LedgerEffectsSchema : IReadModelSchema
{
    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<LedgerEffectRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);
}

[Table("test_ledger_projection")]
public sealed class LedgerProjectionRow
{
    [PrimaryKey, Column("ledger_id", Length = 200), NotNull]
    public string LedgerId { get; set; } = string.Empty;

    [Column("events"), NotNull]
    public long Events { get; set; }

    [Column("amount_sum"), NotNull]
    public long AmountSum { get; set; }

    [Column("last_index"), NotNull]
    public long LastIndex { get; set; }

    /// <summary>Events that did not follow the previous one of their ledger (applied twice, or skipped one).</summary>
    [Column("out_of_order"), NotNull]
    public long OutOfOrder { get; set; }
}

/// <summary>Per ledger: events, amount, last index, and how many arrived out of sequence (must stay 0).</summary>
public sealed class LedgerProjector(DeliveryLog log) : IProjector
{
    /// <summary>An entry of this amount makes the projector throw (a poison event), while <see cref="DeliveryLog.ProjectorPoisoned"/> is set.</summary>
    public const int PoisonAmount = 666;

    public Task CreateTablesAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.CreateTableAsync<LedgerProjectionRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);

    public async Task ProjectAsync(EventEnvelope envelope, ProjectionContext context)
    {
        var recorded = envelope.Event switch
        {
            Recorded r => r,
            Archived a => new Recorded(a.LedgerId, a.Index, a.Amount),
            _ => null,
        };
        if (recorded is null)
        {
            return;
        }

        if (recorded.Amount == PoisonAmount && log.ProjectorPoisoned)
        {
            throw new OverflowException($"entry {recorded.Index} of {recorded.LedgerId} overflows the read model");
        }

        var table = context.Connection.GetTable<LedgerProjectionRow>();
        var row = await table.FirstOrDefaultAsync(r => r.LedgerId == recorded.LedgerId, context.CancellationToken)
            ?? new LedgerProjectionRow { LedgerId = recorded.LedgerId };
        row.OutOfOrder += recorded.Index == row.LastIndex + 1 ? 0 : 1;
        row.LastIndex = recorded.Index;
        row.Events++;
        row.AmountSum += recorded.Amount;
        await context.Connection.InsertOrReplaceAsync(row, token: context.CancellationToken);
    }

    public Task ClearAsync(DataConnection connection, CancellationToken cancellationToken) =>
        connection.GetTable<LedgerProjectionRow>().DeleteAsync(cancellationToken);
}

/// <summary>Hosts of the ledger domain on a test database, built through the production wiring.</summary>
public static class LedgerHost
{
    /// <summary>Akka settings that make a hard stop a crash (no leaving) and failure detection quick.</summary>
    public const string CrashOnTerminate = "akka.coordinated-shutdown.run-by-actor-system-terminate = off";

    public static IHost Build(TestDatabase database, DeliveryLog log, Action<ActorEventsDomainBuilder> subscriptions,
        IReadOnlyDictionary<string, string?>? overrides = null, string? hocon = null, Action<IServiceCollection>? services = null) =>
        ActorEventsTestHost.Build(database.Settings(overrides), domain =>
        {
            domain.AddAggregate<LedgerAggregate>();
            subscriptions(domain);
        }, hocon, collection =>
        {
            collection.AddSingleton(log);
            services?.Invoke(collection);
        });

    public static Task<ActorEventsTestHost> StartAsync(TestDatabase database, DeliveryLog log, Action<ActorEventsDomainBuilder> subscriptions,
        IReadOnlyDictionary<string, string?>? overrides = null, string? hocon = null, Action<IServiceCollection>? services = null) =>
        ActorEventsTestHost.StartAsync(Build(database, log, subscriptions, overrides, hocon, services));

    public static ISubscriptionsClient Subscriptions(this ActorEventsTestHost host) => host.Host.Services.GetRequiredService<ISubscriptionsClient>();

    public static async Task<SubscriptionStatus> StatusAsync(this ActorEventsTestHost host, string name) =>
        Assert.Single(await host.Subscriptions().StatusAsync(name));

    /// <summary>Waits until the subscription has processed everything its source holds.</summary>
    public static async Task<SubscriptionStatus> WaitUntilCaughtUpAsync(this ActorEventsTestHost host, string name, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var status = await host.StatusAsync(name);
            if (status is { LagEvents: 0, State: SubscriptionState.Running } && status.Head > 0)
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{name} did not catch up: {status}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends commands for one ledger, <paramref name="perCommand"/> events each, until it holds <paramref name="events"/>.</summary>
    public static async Task RecordAsync(this ActorEventsTestHost host, string ledgerId, int events, int perCommand = 50)
    {
        for (var sent = 0; sent < events; sent += perCommand)
        {
            var result = await host.SendAsync(new Record(ledgerId, Math.Min(perCommand, events - sent)), new CommandMetadata(ReplyMode: ReplyMode.AfterPersist));
            Assert.True(result.IsAccepted, result.ToString());
        }
    }

    public static async Task<IReadOnlyList<LedgerProjectionRow>> ProjectionRowsAsync(this ActorEventsTestHost host, string ledgerPrefix)
    {
        await using var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open();
        return await db.GetTable<LedgerProjectionRow>().Where(r => r.LedgerId.StartsWith(ledgerPrefix)).OrderBy(r => r.LedgerId).ToListAsync();
    }

    /// <summary>The effect rows of one handler for the ledgers of one test (on PostgreSQL the tag also holds earlier tests' ledgers).</summary>
    public static async Task<IReadOnlyList<LedgerEffectRow>> EffectRowsAsync(this ActorEventsTestHost host, string handler, string ledgerPrefix)
    {
        await using var db = host.Host.Services.GetRequiredService<ActorEventsDatabase>().Open();
        return await db.GetTable<LedgerEffectRow>().Where(r => r.Handler == handler && r.LedgerId.StartsWith(ledgerPrefix)).OrderBy(r => r.LedgerId).ToListAsync();
    }
}
