using System.Text.Json;

namespace ActorEvents.Bench.Tests;

/// <summary>Tiny sizes shared by the smoke tests: they check the harness and its JSON, not timing.</summary>
internal static class SmokeSizes
{
    public static readonly BenchOptions Tiny = new()
    {
        Duration = TimeSpan.FromSeconds(0.5),
        Warmup = TimeSpan.Zero,
        Aggregates = 16,
        Callers = 4,
        Rounds = 1,
        Shards = 10,
    };
}

/// <summary>
/// The scenarios on the in-memory journal, run in-process with tiny sizes: the JSON has the documented shape and
/// non-zero figures. Runs in parallel with <see cref="SqliteSmokeTests"/> (each host waits more than it computes).
/// </summary>
[Collection(SmokeGroups.InMemory)]
public sealed class InMemorySmokeTests
{
    private static readonly BenchOptions Tiny = SmokeSizes.Tiny;

    [Fact]
    public async Task Should_report_every_figure_of_the_pipeline_on_the_in_memory_journal()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Pipeline, Database = BenchDatabase.InMem, HandlersPerEvent = 2 });

        var result = Assert.Single(ReportShape.Results(report, "pipeline"));
        Assert.Equal("inmem", result.GetProperty("db").GetString());
        // 4 events × 2 handlers per command, all waited for (AfterHandlers).
        Assert.True(result.GetProperty("handlerRuns").GetInt64() >= result.GetProperty("commands").GetInt64() * 8);
    }

    [Fact]
    public async Task Should_report_no_ceiling_ratio_when_comparing_in_memory()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Compare, Database = BenchDatabase.InMem, Duration = TimeSpan.FromSeconds(0.3) });

        Assert.Equal(["pipeline", "baseline"], ReportShape.Results(report, "compare").Select(r => r.GetProperty("scenario").GetString()));
        var ratios = ReportShape.Ratios(report);
        Assert.True(ratios.GetProperty("pipeline/baseline").GetProperty("median").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, ratios.GetProperty("journal/ceiling").GetProperty("median").ValueKind);
    }

    [Fact]
    public async Task Should_refuse_recovery_on_the_in_memory_journal()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Recovery, Database = BenchDatabase.InMem }));
        Assert.Contains("--db sqlite", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_subscriptions_on_the_in_memory_journal()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Subscriptions, Database = BenchDatabase.InMem }));
        Assert.Contains("--db sqlite", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_sweep_aggregates_and_handler_pool_size_with_efficiency_in_scale()
    {
        var report = await BenchRunner.RunAsync(Tiny with
        {
            Scenario = BenchScenario.Scale, ScaleMaxAggregates = 1000, ScaleMaxHandlers = 2, Duration = TimeSpan.FromSeconds(0.4),
            HandlerWork = HandlerWork.Precise,
        });

        var results = ReportShape.Results(report, "scale");
        Assert.Equal(["aggregates=1000", "N=1 work=precise", "N=2 work=precise"], results.Select(r => r.GetProperty("variant").GetString()));
        Assert.Equal(["sqlite", "inmem", "inmem"], results.Select(r => r.GetProperty("db").GetString()));
        Assert.All(results.Skip(1), r => Assert.True(r.GetProperty("efficiency").GetDouble() > 0));
    }

    [Fact]
    public async Task Should_run_the_whole_mediator_matrix_and_state_the_headline_efficiency()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Mediator, Duration = TimeSpan.FromSeconds(0.25) });

        var results = ReportShape.Results(report, "mediator");
        Assert.Equal(16, results.Count);
        Assert.All(results, r => Assert.Equal("inmem", r.GetProperty("db").GetString()));
        Assert.Equal(8, results.Count(r => r.TryGetProperty("efficiency", out var e) && e.GetDouble() > 0));
        Assert.Contains(results, r => r.GetProperty("variant").GetString() == "N=3 parallel=on work=1ms-delay callers=64");
        Assert.StartsWith("HEADLINE 1 ms / N=3 / parallel / 64 callers: efficiency", report.Summary[0], StringComparison.Ordinal);
    }
}

/// <summary>The scenarios on a temporary SQLite file, run in-process with tiny sizes.</summary>
[Collection(SmokeGroups.Sqlite)]
public sealed class SqliteSmokeTests
{
    private static readonly BenchOptions Tiny = SmokeSizes.Tiny;

    [Fact]
    public async Task Should_persist_the_baseline_on_sqlite_through_bare_sharded_actors()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Baseline, Database = BenchDatabase.Sqlite, Commands = 40 });

        var result = Assert.Single(ReportShape.Results(report, "baseline"));
        Assert.Equal(160, result.GetProperty("events").GetInt64());
    }

    [Fact]
    public async Task Should_write_raw_rows_for_the_ceiling_on_sqlite_and_report_it_not_applicable_in_memory()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Ceiling, Database = BenchDatabase.Sqlite });
        var result = Assert.Single(ReportShape.Results(report, "ceiling"));
        Assert.Equal(0, result.GetProperty("events").GetInt64() % 100); // whole 100-row transactions

        var inMemory = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Ceiling, Database = BenchDatabase.InMem });
        Assert.Empty(inMemory.Results);
        Assert.Contains(inMemory.Summary, line => line.Contains("n/a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_interleave_the_runs_and_report_the_ratios_with_the_writers_before_and_after_when_comparing_on_sqlite()
    {
        var report = await BenchRunner.RunAsync(Tiny with { Scenario = BenchScenario.Compare, Database = BenchDatabase.Sqlite, Rounds = 2, Duration = TimeSpan.FromSeconds(0.3) });

        var results = ReportShape.Results(report, "compare");
        Assert.Equal(["pipeline", "baseline", "ceiling", "baseline", "pipeline", "baseline", "ceiling", "baseline"],
            results.Select(r => r.GetProperty("scenario").GetString()));
        Assert.Equal([null, null, null, "plugin writer", null, null, null, "plugin writer"],
            results.Select(r => r.TryGetProperty("variant", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString() : null));
        Assert.Equal([1, 1, 1, 1, 2, 2, 2, 2], results.Select(r => r.GetProperty("round").GetInt32()));
        var ratios = ReportShape.Ratios(report);
        foreach (var name in new[] { "pipeline/baseline", "journal/ceiling", "group-commit/plugin" })
        {
            var ratio = ratios.GetProperty(name);
            var min = ratio.GetProperty("min").GetDouble();
            var median = ratio.GetProperty("median").GetDouble();
            var max = ratio.GetProperty("max").GetDouble();
            Assert.True(min > 0 && min <= median && median <= max, $"{name}: {ratio}");
            Assert.Equal(2, ratio.GetProperty("values").GetArrayLength());
        }
    }

    [Fact]
    public async Task Should_measure_one_and_n_projections_idle_and_under_a_steady_load_with_and_without_the_shared_head_on_sqlite()
    {
        var report = await BenchRunner.RunAsync(Tiny with
        {
            Scenario = BenchScenario.Subscriptions, Database = BenchDatabase.Sqlite, Subscriptions = 3, Rate = 40, Duration = TimeSpan.FromSeconds(0.5),
        });

        var results = ReportShape.Results(report, "subscriptions");
        Assert.Equal(["1 projection, polling", "3 projections, polling", "1 projection, shared head", "3 projections, shared head"],
            results.Select(r => r.GetProperty("variant").GetString()));
        Assert.Equal([1, 3, 1, 3], results.Select(r => r.GetProperty("subscriptions").GetInt32()));
        foreach (var figure in new[] { "idleJournalReadsPerSec", "idleCpuMsPerSec", "journalReadsPerSec", "statementsPerSec", "cpuMsPerSec", "projectedEventsPerSec" })
        {
            Assert.All(results, r => Assert.True(r.GetProperty(figure).GetDouble() > 0, $"{r.GetProperty("variant").GetString()}: {figure} is {r.GetProperty(figure)}"));
        }

        var ratio = ReportShape.Ratios(report).GetProperty("idle journal reads/s 3/1 · shared head");
        Assert.True(ratio.GetProperty("median").GetDouble() > 0, ratio.ToString());
        Assert.StartsWith("HEADLINE 3 projections ÷ 1, idle", report.Summary[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_measure_recovery_of_a_populated_aggregate_on_a_fresh_host_with_and_without_snapshot()
    {
        var report = await BenchRunner.RunAsync(Tiny with
        {
            Scenario = BenchScenario.Recovery, Database = BenchDatabase.Sqlite, RecoveryMaxEvents = 1000, RecoverySnapshotEvery = 100,
        });

        var results = ReportShape.Results(report, "recovery");
        Assert.Equal(["1,000 events, no snapshot", "1,000 events, no snapshot, v1 rows (upcast)", "1,000 events, snapshot every 100"],
            results.Select(r => r.GetProperty("variant").GetString()));
        Assert.Contains(report.Summary, line => line.Contains("v1/v2 = ", StringComparison.Ordinal));
        Assert.All(results, r => Assert.Equal(1000, r.GetProperty("events").GetInt64()));
    }
}

/// <summary>PostgreSQL runs only where a connection string is configured (CI sets ACTOREVENTS_TEST_POSTGRES).</summary>
[Collection(SmokeGroups.Sqlite)]
public sealed class PostgresSmokeTests
{
    [Fact]
    public async Task Should_use_a_fresh_schema_per_run_when_comparing_on_postgres()
    {
        if (!Array.Exists(["ACTOREVENTS_TEST_POSTGRES", "ActorEvents__Persistence__ConnectionString"],
                name => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(name))))
        {
            return; // no PostgreSQL here; CliTests checks the clear failure instead
        }

        var report = await BenchRunner.RunAsync(new BenchOptions
        {
            Scenario = BenchScenario.Compare, Database = BenchDatabase.Postgres, Duration = TimeSpan.FromSeconds(0.3), Warmup = TimeSpan.Zero,
            Aggregates = 8, Callers = 4, Rounds = 1, Shards = 10,
        });

        var results = ReportShape.Results(report, "compare");
        Assert.All(results, r => Assert.Equal("postgres", r.GetProperty("db").GetString()));
        Assert.True(ReportShape.Ratios(report).GetProperty("journal/ceiling").GetProperty("median").GetDouble() > 0);
    }
}

/// <summary>Two collections that run side by side: tests within each run one at a time.</summary>
public static class SmokeGroups
{
    public const string InMemory = "bench smoke: in-memory journal";
    public const string Sqlite = "bench smoke: SQLite and the command line";
}

/// <summary>
/// The broker scenario runs only where RabbitMQ is configured (CI sets ACTOREVENTS_TEST_RABBITMQ), on a temporary SQLite
/// file; reported as skipped otherwise.
/// </summary>
[Collection(SmokeGroups.Sqlite)]
public sealed class BrokerSmokeTests
{
    [RabbitMqFact]
    public async Task Should_measure_notifications_end_to_end_against_the_raw_broker_on_sqlite()
    {
        // The framework's broker fault tests (another process, at the same time) stop the broker while they hold this exclusively.
        await using var broker = await ActorEvents.Tests.Broker.BrokerLockFile.OpenAsync(exclusive: false);
        var report = await BenchRunner.RunAsync(SmokeSizes.Tiny with
        {
            Scenario = BenchScenario.Broker, Database = BenchDatabase.Sqlite, Commands = 200,
            BrokerUri = Environment.GetEnvironmentVariable(RabbitMqFactAttribute.Variable),
        });

        var results = ReportShape.Results(report, "broker");
        Assert.Equal(["end to end", "subscriber only", "raw publish", "raw consume", "raw pub+consume", "raw pub+consume, no limiter"],
            results.Select(r => r.GetProperty("variant").GetString()));
        Assert.All(results, r => Assert.Equal(200, r.GetProperty("messages").GetInt64()));
        Assert.All(results, r => Assert.True(r.GetProperty("messagesPerSec").GetDouble() > 0, r.ToString()));
        var endToEnd = results[0];
        Assert.True(endToEnd.GetProperty("publishedPerSec").GetDouble() >= endToEnd.GetProperty("messagesPerSec").GetDouble());
        Assert.True(endToEnd.GetProperty("ceilingRatio").GetDouble() > 0);
        Assert.Contains("consumed 200", endToEnd.GetProperty("notes").GetString(), StringComparison.Ordinal);
        Assert.True(ReportShape.Ratios(report).GetProperty("end-to-end/ceiling").GetProperty("median").GetDouble() > 0);
        Assert.StartsWith("HEADLINE broker on sqlite", report.Summary[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_the_broker_scenario_on_the_in_memory_journal()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            BenchRunner.RunAsync(SmokeSizes.Tiny with { Scenario = BenchScenario.Broker, Database = BenchDatabase.InMem }));
        Assert.Contains("--db sqlite", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A fact that runs only when ACTOREVENTS_TEST_RABBITMQ holds an AMQP URI, and is reported as skipped otherwise.</summary>
public sealed class RabbitMqFactAttribute : FactAttribute
{
    /// <summary>The environment variable with the AMQP URI.</summary>
    public const string Variable = "ACTOREVENTS_TEST_RABBITMQ";

    public RabbitMqFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"{Variable} is not set";
        }
    }
}
