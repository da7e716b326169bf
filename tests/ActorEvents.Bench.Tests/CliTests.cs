namespace ActorEvents.Bench.Tests;

/// <summary>The command line end to end: options parsed, scenario run, JSON file written.</summary>
[Collection(SmokeGroups.Sqlite)]
public sealed class CliTests
{
    [Fact]
    public async Task Should_run_a_fixed_number_of_pipeline_commands_on_sqlite_from_the_command_line_and_write_the_json_report()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.json");
        try
        {
            var exit = await Program.Main(
            [
                "pipeline", "--db", "sqlite", "--commands", "30", "--warmup", "0", "--callers", "3", "--aggregates", "9",
                "--events-per-command", "2", "--handlers-per-event", "3", "--max-concurrent-handlers", "2", "--ordering", "None",
                "--parallel", "false", "--handler-work", "spin", "--shards", "5", "--no-progress", "--out", file,
            ]);

            Assert.Equal(0, exit);
            var result = Assert.Single(ReportShape.Results(await File.ReadAllTextAsync(file), "pipeline"));
            Assert.Equal("sqlite", result.GetProperty("db").GetString());
            Assert.Equal(3, result.GetProperty("callers").GetInt32());
            Assert.Equal(30, result.GetProperty("commands").GetInt64());
            Assert.Equal(60, result.GetProperty("events").GetInt64());
            Assert.Equal(180, result.GetProperty("handlerRuns").GetInt64()); // 2 events × 3 handlers, all awaited
            Assert.True(result.GetProperty("efficiency").GetDouble() > 0); // spin is 1 ms of work
            Assert.Contains("parallel=off", result.GetProperty("notes").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("pipeline", "--events-per-command", "0")]
    [InlineData("pipeline", "--handlers-per-event", "9")]
    [InlineData("pipeline", "--duration", "-1")]
    [InlineData("baseline", "--journal-writer", "Fastest")]
    [InlineData("nonsense")]
    public async Task Should_exit_with_1_on_bad_options(params string[] args) => Assert.Equal(1, await Program.Main(args));

    [Fact]
    public async Task Should_fail_clearly_on_postgres_without_a_connection_string()
    {
        if (Array.Exists(["ACTOREVENTS_TEST_POSTGRES", "ActorEvents__Persistence__ConnectionString"],
                name => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(name))))
        {
            return; // a connection string is configured here: nothing to check
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BenchRunner.RunAsync(new BenchOptions { Scenario = BenchScenario.Baseline, Database = BenchDatabase.Postgres }));
        Assert.Contains("ACTOREVENTS_TEST_POSTGRES", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, await Program.Main(["baseline", "--db", "postgres", "--no-progress"]));
    }
}
