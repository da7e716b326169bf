using System.Text.Json;

namespace ActorEvents.Host.Tests.Cli;

/// <summary>
/// The real host process, as a script runs it: <c>--json</c> puts exactly one JSON document on stdout, every time; a
/// node's logs (the Microsoft.Extensions.Logging console and Akka's minimal logger while it starts and stops) go to stderr.
/// (With <c>--admin-url</c>, see <see cref="AdminApiTests"/>.)
/// </summary>
public sealed class CleanOutputTests : IDisposable
{
    private readonly ProcessDatabase _database = ProcessDatabase.Sqlite();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Should_print_only_json_on_stdout_for_subscriptions_status_json_in_ten_runs_out_of_ten()
    {
        for (var run = 1; run <= 10; run++)
        {
            var (exitCode, stdout, output) = await RunAsync("subscriptions", "status", "--json");

            Assert.True(exitCode == 0, $"run {run} exited with {exitCode}:\n{output}");
            using var document = ParseOrFail(stdout, run, output);
            Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
            Assert.Contains(document.RootElement.EnumerateArray(), s => s.GetProperty("name").GetString() == "order-totals");
        }
    }

    [Fact]
    public async Task Should_print_only_json_on_stdout_for_dlq_list_json_in_ten_runs_out_of_ten()
    {
        for (var run = 1; run <= 10; run++)
        {
            var (exitCode, stdout, output) = await RunAsync("dlq", "list", "--json", "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Akka=Information");

            Assert.True(exitCode == 0, $"run {run} exited with {exitCode}:\n{output}");
            using var document = ParseOrFail(stdout, run, output);
            Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
        }
    }

    [Fact]
    public async Task Should_print_only_the_load_summary_json_on_stdout_of_a_verb_that_starts_a_node_and_send_its_logs_to_stderr()
    {
        // Information-level logs of the node (Akka's cluster membership among them) are on, so stderr has lines.
        var (exitCode, stdout, output) = await RunAsync("load", "--orders", "5", "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Akka=Information");

        Assert.True(exitCode == 0, output);
        using var document = ParseOrFail(stdout, 1, output);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        Assert.Contains("Cluster", output, StringComparison.Ordinal); // the logs were written, to stderr
        Assert.DoesNotContain("Cluster", stdout, StringComparison.Ordinal);
    }

    private static JsonDocument ParseOrFail(string stdout, int run, string output)
    {
        try
        {
            return JsonDocument.Parse(stdout);
        }
        catch (JsonException e)
        {
            Assert.Fail($"run {run}: stdout is not one JSON document ({e.Message}):\n--- stdout ---\n{stdout}\n--- stdout and stderr ---\n{output}");
            throw;
        }
    }

    private async Task<(int ExitCode, string StandardOutput, string Output)> RunAsync(params string[] args)
    {
        using var process = HostProcess.Start(_database, args);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return (exitCode, process.StandardOutput, process.Output);
    }
}
