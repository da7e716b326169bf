using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Host.Cli;
using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Host.Domain.ReadModels;
using ActorEvents.Messages;
using ActorEvents.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>
/// The real host process (<c>ActorEvents.Host.dll load</c>) on a SQLite file, killed (SIGKILL) at random points under
/// load and restarted; a last run drains the subscriptions. Afterwards the journal must hold every acknowledged
/// command's events exactly once, without gaps, and every read model must equal a fold of the journal.
/// </summary>
public sealed class HostProcessCrashTests(ITestOutputHelper output)
{
    private const int Kills = 4;
    private static readonly JsonSerializerOptions AckJson = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Should_keep_every_acknowledged_command_exactly_once_and_the_read_models_exact_across_kill_minus_nine()
    {
        using var database = new TempSqliteDatabase();
        var ackLog = Path.Combine(Path.GetTempPath(), "actor-events-tests", $"{Guid.NewGuid():N}.acks");
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        try
        {
            var acknowledged = 0;
            for (var kill = 1; kill <= Kills; kill++)
            {
                using var node = HostProcess.Start(database, "load", "--orders", "100000", "--concurrency", "8", "--ack-log", ackLog);
                var target = acknowledged + random.Next(40, 250);
                await node.WaitUntilAsync(() => AckLines(ackLog) >= target, $"{target} acknowledged commands", TimeSpan.FromSeconds(90));
                node.Kill();
                acknowledged = AckLines(ackLog);
                output.WriteLine($"{clock.Elapsed:mm\\:ss} kill {kill}: {acknowledged} acknowledged so far");
            }

            using (var drain = HostProcess.Start(database, "load", "--orders", "20", "--ack-log", ackLog, "--drain"))
            {
                var exitCode = await drain.WaitForExitAsync(TimeSpan.FromSeconds(120));
                Assert.True(exitCode == 0, $"the draining run exited with {exitCode}:\n{drain.Output}");
            }

            output.WriteLine($"{clock.Elapsed:mm\\:ss} drained");
            var journal = ReadJournal(database);
            var acks = ReadAcks(ackLog);

            // Every acknowledged command has its events in the journal, at the acknowledged positions, exactly once.
            var byPosition = journal.ToDictionary(e => (e.StreamName, e.SequenceNr));
            var byCommand = journal.GroupBy(e => e.CausationId).ToDictionary(g => g.Key, g => g.Count());
            var lost = acks.Sum(a => a.Events.Count(e => !byPosition.TryGetValue((a.Stream, e.SequenceNr), out var stored) || stored.EventId != e.EventId));
            var duplicated = acks.Count(a => byCommand.GetValueOrDefault(a.CommandId) != a.Events.Count);
            var gaps = journal.GroupBy(e => e.StreamName).Count(s => !s.Select(e => e.SequenceNr).Order().SequenceEqual(Enumerable.Range(1, s.Count()).Select(i => (long)i)));

            // Redeliveries the guarded shipment ledger skipped (events it had handled before a kill).
            var redeliveries = database.Scalar("SELECT COALESCE(SUM(redeliveries), 0) FROM ae_processed_events");
            var report = $"kill -9 of the host process (sqlite, seed {seed}): {Kills} kills and restarts, {acks.Count} acknowledged commands, " +
                $"lost {lost}, duplicated {duplicated}, streams with gaps {gaps}, {journal.Count} events in the journal, " +
                $"{redeliveries} redeliveries skipped by the guarded handler, {clock.Elapsed.TotalSeconds:0} s";
            output.WriteLine(report);
            Console.WriteLine($"[kill -9 figures] {report}");
            Assert.True(acks.Count > 200, $"the load should have gone on between the kills: {acks.Count} acknowledged");
            Assert.Equal(0, lost);
            Assert.Equal(0, duplicated);
            Assert.Equal(0, gaps);

            AssertReadModelsEqualTheJournal(database, journal);
        }
        finally
        {
            File.Delete(ackLog);
        }
    }

    private static void AssertReadModelsEqualTheJournal(TempSqliteDatabase database, IReadOnlyList<EventEnvelope> journal)
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
            return (OrderId: order.Key, Status: status, Cents: (long)Math.Round(placed.Quantity * placed.UnitPrice * 100m, MidpointRounding.AwayFromZero));
        }).OrderBy(o => o.OrderId, StringComparer.Ordinal).ToArray();
        Assert.Equal(orders, Rows(database, "SELECT order_id, status, total_cents FROM sample_orders", r => (r.GetString(0), r.GetString(1), r.GetInt64(2)))
            .OrderBy(o => o.Item1, StringComparer.Ordinal));
        Assert.Equal(
            orders.GroupBy(o => o.Status).Select(g => (g.Key, (long)g.Count(), g.Sum(o => o.Cents))).OrderBy(t => t.Key, StringComparer.Ordinal),
            Rows(database, "SELECT status, orders, total_cents FROM sample_order_totals WHERE orders <> 0", r => (r.GetString(0), r.GetInt64(1), r.GetInt64(2)))
                .OrderBy(t => t.Item1, StringComparer.Ordinal));

        // stock-levels: the last stated stock of every SKU.
        var stock = journal.Where(e => e.AggregateType == "inventory").GroupBy(e => e.AggregateId).Select(sku =>
        {
            var last = sku.MaxBy(e => e.SequenceNr)!;
            var onHand = last.Event switch { StockAdded a => a.OnHand, StockReduced r => r.OnHand, StockRestored r => r.OnHand, _ => -1 };
            return (sku.Key, onHand, (long)sku.Count(), last.SequenceNr);
        }).OrderBy(s => s.Key, StringComparer.Ordinal);
        Assert.Equal(stock, Rows(database, "SELECT sku, on_hand, movements, version FROM sample_stock_levels", r => (r.GetString(0), r.GetInt32(1), r.GetInt64(2), r.GetInt64(3)))
            .OrderBy(s => s.Item1, StringComparer.Ordinal));

        // The shipment ledger: the guarded handler's additions, each shipment exactly once.
        var shipped = journal.Select(e => e.Event).OfType<OrderShipped>().GroupBy(s => s.Sku)
            .Select(g => (g.Key, (long)g.Sum(s => s.Quantity), (long)g.Count())).OrderBy(s => s.Key, StringComparer.Ordinal);
        Assert.Equal(shipped, Rows(database, "SELECT sku, units, shipments FROM sample_shipped_units", r => (r.GetString(0), r.GetInt64(1), r.GetInt64(2)))
            .OrderBy(s => s.Item1, StringComparer.Ordinal));
        Assert.Equal(journal.Count(e => e.Event is OrderShipped),
            database.Scalar($"SELECT COUNT(*) FROM ae_processed_events WHERE handler = '{nameof(ShipmentLedgerHandler)}'"));
    }

    private static int AckLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = 0;
        while (reader.ReadLine() is not null)
        {
            lines++;
        }

        return lines;
    }

    /// <summary>The acknowledged commands; a line torn by a kill was never complete, so it does not count.</summary>
    private static IReadOnlyList<AcknowledgedCommand> ReadAcks(string path)
    {
        var acks = new List<AcknowledgedCommand>();
        foreach (var line in File.ReadAllLines(path))
        {
            try
            {
                acks.Add(JsonSerializer.Deserialize<AcknowledgedCommand>(line, AckJson)!);
            }
            catch (JsonException)
            {
            }
        }

        return acks;
    }

    private static IReadOnlyList<EventEnvelope> ReadJournal(TempSqliteDatabase database)
    {
        var json = ActorEventsSerializer.CreateOptions(new ActorEventsDomainBuilder().AddSampleDomain().Build().Types);
        return Rows(database, "SELECT message FROM journal WHERE deleted = 0 ORDER BY ordering",
            r => JsonSerializer.Deserialize<EventEnvelope>((byte[])r.GetValue(0), json)!);
    }

    private static List<T> Rows<T>(TempSqliteDatabase database, string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = new SqliteConnection(database.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A child process running <c>dotnet ActorEvents.Host.dll …</c> on the test database, its output kept for failures.</summary>
    private sealed class HostProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private HostProcess(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static HostProcess Start(TempSqliteDatabase database, params string[] args)
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ActorEvents.Host.dll"));
            foreach (var arg in args.Concat(["--provider", "sqlite", "--port", "0", $"--ActorEvents:Persistence:ConnectionString={database.ConnectionString}"]))
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["Logging__LogLevel__Default"] = "Warning";
            return new HostProcess(Process.Start(start) ?? throw new InvalidOperationException("The host process did not start."));
        }

        public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!condition())
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The host process {(_process.HasExited ? $"exited ({_process.ExitCode})" : "timed out")} before {what}:\n{Output}");
                }

                await Task.Delay(20);
            }
        }

        /// <summary>SIGKILL: no shutdown hook, no flush, nothing.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancellation = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cancellation.Token);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
