namespace ActorEvents.Bench.Tests;

/// <summary>The command line end to end: options parsed, scenario run, JSON file written.</summary>
[Collection(SmokeCollection.Name)]
public sealed class CliTests
{
    [Fact]
    public async Task Pipeline_from_the_command_line_writes_the_json_report()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.json");
        try
        {
            var exit = await Program.Main(
            [
                "pipeline", "--db", "inmem", "--duration", "0.5", "--warmup", "0", "--callers", "3", "--aggregates", "9",
                "--events-per-command", "2", "--handlers-per-event", "3", "--max-concurrent-handlers", "2", "--ordering", "None",
                "--parallel", "false", "--handler-work", "spin", "--shards", "5", "--no-progress", "--out", file,
            ]);

            Assert.Equal(0, exit);
            var result = Assert.Single(ReportShape.Results(await File.ReadAllTextAsync(file), "pipeline"));
            Assert.Equal(3, result.GetProperty("callers").GetInt32());
            Assert.Equal(result.GetProperty("commands").GetInt64() * 2, result.GetProperty("events").GetInt64());
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
    [InlineData("nonsense")]
    public async Task Bad_options_exit_with_1(params string[] args) => Assert.Equal(1, await Program.Main(args));

    [Fact]
    public async Task Postgres_without_a_connection_string_fails_clearly()
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
