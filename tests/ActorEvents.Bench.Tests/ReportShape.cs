using System.Text.Json;

namespace ActorEvents.Bench.Tests;

/// <summary>Checks a report through its JSON, the contract other tools read.</summary>
internal static class ReportShape
{
    private static readonly string[] Databases = ["inmem", "sqlite", "postgres"];
    private static readonly string[] PositiveFigures =
        ["commandsPerSec", "eventsPerSec", "p50Ms", "p95Ms", "p99Ms", "maxMs", "allocatedBytesPerCommand", "peakWorkingSetBytes", "commands", "events"];

    /// <summary>Parses the report's JSON and returns its results after checking the shape every result must have.</summary>
    public static IReadOnlyList<JsonElement> Results(BenchReport report, string scenario) => Results(report.ToJson(), scenario);

    public static IReadOnlyList<JsonElement> Results(string json, string scenario)
    {
        var root = JsonDocument.Parse(json).RootElement.Clone();
        Assert.Equal(scenario, root.GetProperty("scenario").GetString());
        var results = root.GetProperty("results").EnumerateArray().ToArray();
        Assert.NotEmpty(results);
        foreach (var result in results)
        {
            var name = $"{result.GetProperty("scenario").GetString()} {(result.TryGetProperty("variant", out var v) ? v.GetString() : null)}";
            Assert.False(string.IsNullOrEmpty(result.GetProperty("scenario").GetString()));
            Assert.Contains(result.GetProperty("db").GetString(), Databases);
            Assert.True(result.GetProperty("errors").GetInt64() == 0,
                $"{name}: {result.GetProperty("errors").GetInt64()} errors, first: {(result.TryGetProperty("firstError", out var e) ? e.GetString() : null)}");
            foreach (var figure in PositiveFigures)
            {
                Assert.True(result.GetProperty(figure).GetDouble() > 0, $"{name}: {figure} is {result.GetProperty(figure)}");
            }

            Assert.True(result.GetProperty("p50Ms").GetDouble() <= result.GetProperty("p99Ms").GetDouble(), $"{name}: p50 > p99");
            Assert.True(result.GetProperty("p99Ms").GetDouble() <= result.GetProperty("maxMs").GetDouble(), $"{name}: p99 > max");
        }

        return results;
    }

    public static JsonElement Ratios(BenchReport report) =>
        JsonDocument.Parse(report.ToJson()).RootElement.GetProperty("ratios").Clone();
}
