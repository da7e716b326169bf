using System.Collections.Concurrent;
using System.Diagnostics;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;
using ActorEvents.Tests.Pipeline;
using LinqToDB;
using LinqToDB.Mapping;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// A guarded (exactly-once) durable handler holds no write lock while its own code runs: on SQLite, the database's only
/// write lock. The reference documents' inventory handler (durable, sends ReduceStock on OrderShipped) used to wait for
/// the lock its own guard held until its command timed out (~10 s, then a retry); every other write of the node waited too.
/// </summary>
public sealed class GuardedHandlerLockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_accept_the_first_command_a_guarded_durable_handler_sends_on_sqlite_without_waiting_for_its_own_lock()
    {
        using var database = new TempSqliteDatabase();
        var log = new HandlerLog();
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(
            ActorEventsTestHost.SqliteSettings(database),
            domain => domain.AddAggregate<OrderAggregate>().AddAggregate<StockAggregate>()
                .AddHandler<DurableStockOnShipment>(h => { h.PartOf = "inventory"; h.StreamCategory = "order"; h.Delivery = HandlerDelivery.Durable; }),
            services: services => services.AddSingleton(log)));

        await host.AcceptAsync(new AddStock("sku-durable", 100));
        await host.AcceptAsync(new PlaceOrder("order-durable", "c-1", "sku-durable", 10, 2m));
        var shipped = await host.AcceptAsync(new ShipOrder("order-durable"));
        var clock = Stopwatch.StartNew();

        var stream = StreamNames.For("inventory", "sku-durable");
        while ((await JournalReader.ReadAsync(host.System, stream)).All(e => e.Event is not StockReduced))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the durable handler never reduced the stock");
            await Task.Delay(20);
        }

        output.WriteLine($"stock reduced {clock.ElapsedMilliseconds} ms after the ship was acknowledged; attempts: {string.Join(", ", log.Results)}");
        var first = Assert.Single(log.Results);
        Assert.Equal("1:Accepted", first); // the first ReduceStock, on the first attempt: no Timeout, no NotPersisted, no retry
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the effect took {clock.Elapsed} (it used to take ~10 s)");
        // The processed row commits once the handler returned, just after the command it sent.
        await PipelineHost.WaitUntilAsync(() => database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE event_id = $e", ("$e", shipped.Events[0].EventId)) == 1,
            "the shipment is recorded as processed by the handler");
    }

    [Fact]
    public async Task Should_let_every_other_write_of_the_node_through_while_a_guarded_handler_works_for_twelve_seconds()
    {
        using var database = new TempSqliteDatabase();
        var log = new HandlerLog();
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(
            ActorEventsTestHost.SqliteSettings(database),
            domain => domain.AddAggregate<UserAggregate>().AddAggregate<StockAggregate>()
                .AddHandler<SlowWelcome>(h => { h.PartOf = "user"; h.Delivery = HandlerDelivery.Durable; h.Retry = r => r.InvocationTimeout = TimeSpan.FromSeconds(60); })
                .AddReadModelSchema<SlowWelcome>(),
            services: services => services.AddSingleton(log)));

        await host.AcceptAsync(new CreateUser("user-slow", "slow@example.com", "Slow"));
        await log.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // While the guarded handler works: 200 commands on other aggregates, 8 at a time.
        var latencies = new ConcurrentBag<double>();
        var results = new ConcurrentBag<CommandResult>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var clock = Stopwatch.StartNew();
            results.Add(await host.SendAsync(new AddStock($"sku-busy-{i % 50}", 1)));
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        });
        Assert.False(log.Finished.Task.IsCompleted, "the handler should still be working while the commands ran");

        var sorted = latencies.Order().ToArray();
        var p99 = sorted[(int)Math.Ceiling(sorted.Length * 0.99) - 1];
        output.WriteLine($"200 commands during the handler: p50 {sorted[sorted.Length / 2]:0.0} ms, p99 {p99:0.0} ms, max {sorted[^1]:0.0} ms");
        Assert.All(results, r => Assert.IsType<CommandAccepted>(r));
        Assert.True(p99 < 1000, $"p99 {p99:0} ms: writes waited for the handler");

        // The handler's own write commits with its processed-event row once it returned.
        await log.Finished.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE handler = 'SlowWelcome'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the handler's unit of work never committed");
            await Task.Delay(20);
        }

        Assert.Equal(1, database.Scalar("SELECT COUNT(*) FROM test_welcomes WHERE user_id = 'user-slow'"));
    }

    [Fact]
    public async Task Should_refuse_a_write_through_the_read_connection_of_a_unit_of_work_and_commit_nothing()
    {
        using var database = new TempSqliteDatabase();
        var log = new HandlerLog();
        await using var host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Build(
            ActorEventsTestHost.SqliteSettings(database),
            domain => domain.AddAggregate<UserAggregate>()
                .AddHandler<DirectWriter>(h => { h.PartOf = "user"; h.Delivery = HandlerDelivery.Durable; h.Retry = r => r.MaxRetries = 0; })
                .AddReadModelSchema<DirectWriter>(),
            services: services => services.AddSingleton(log)));

        await host.AcceptAsync(new CreateUser("user-direct", "d@example.com", "Direct"));
        var error = await log.Error.Task.WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(error);
        Assert.Contains("readonly", error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, database.Scalar("SELECT COUNT(*) FROM test_welcomes"));
    }

    /// <summary>What the test handlers did.</summary>
    public sealed class HandlerLog
    {
        public ConcurrentQueue<string> Results { get; } = new();

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<string> Error { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The reference documents' inventory handler, delivered durably and guarded.</summary>
    public sealed class DurableStockOnShipment(IActorEventsClient client, HandlerLog log) : IHandle<OrderShipped>
    {
        public async Task HandleAsync(OrderShipped @event, EventContext context)
        {
            var result = await client.SendAsync(new ReduceStock(@event.Sku, @event.Quantity, @event.OrderId), context.CommandMetadata(), context.CancellationToken);
            log.Results.Enqueue($"{context.Attempt}:{(result is CommandRejected rejected ? rejected.Code.ToString() : "Accepted")}");
            if (result is CommandRejected failed)
            {
                throw new InvalidOperationException($"{failed.Code}: {failed.Message}");
            }
        }
    }

    /// <summary>A guarded handler that works for 12 s before it registers its write.</summary>
    public sealed class SlowWelcome(HandlerLog log) : IHandle<UserCreated>, Actors.Projections.IReadModelSchema
    {
        public async Task HandleAsync(UserCreated @event, EventContext context)
        {
            log.Started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(12));
            context.UnitOfWork().Write((db, token) => db.InsertAsync(new WelcomeRow { UserId = @event.UserId }, token: token));
            log.Finished.TrySetResult();
        }

        public Task CreateTablesAsync(LinqToDB.Data.DataConnection connection, CancellationToken cancellationToken) =>
            connection.CreateTableAsync<WelcomeRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);
    }

    /// <summary>A guarded handler that writes through the read connection instead of registering its write.</summary>
    public sealed class DirectWriter(HandlerLog log) : IHandle<UserCreated>, Actors.Projections.IReadModelSchema
    {
        public async Task HandleAsync(UserCreated @event, EventContext context)
        {
            try
            {
                await context.UnitOfWork().Connection.InsertAsync(new WelcomeRow { UserId = @event.UserId }, token: context.CancellationToken);
            }
            catch (Exception e)
            {
                log.Error.TrySetResult(e.Message);
                throw;
            }
        }

        public Task CreateTablesAsync(LinqToDB.Data.DataConnection connection, CancellationToken cancellationToken) =>
            connection.CreateTableAsync<WelcomeRow>(tableOptions: TableOptions.CreateIfNotExists, token: cancellationToken);
    }

    [Table("test_welcomes")]
    public sealed class WelcomeRow
    {
        [PrimaryKey, Column("user_id", Length = 200), NotNull]
        public string UserId { get; set; } = string.Empty;
    }
}
