using System.Text.Json;
using ActorEvents.Host.Cli;

namespace ActorEvents.Host.Tests.Infrastructure;

/// <summary>
/// The two files a <c>load</c> run writes (<c>--ack-log</c>, <c>--reject-log</c>), in a temp folder of their own that
/// is deleted on dispose. Every command's final outcome is a line in one of them; a line torn by a kill was never
/// complete, so it does not count.
/// </summary>
public sealed class CommandLogs : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actor-events-tests", $"logs-{Guid.NewGuid():N}");

    public CommandLogs()
    {
        Directory.CreateDirectory(_folder);
    }

    /// <summary>The acknowledged commands' file.</summary>
    public string AckLog => Path.Combine(_folder, "acks.jsonl");

    /// <summary>The rejected commands' file.</summary>
    public string RejectLog => Path.Combine(_folder, "rejects.jsonl");

    /// <summary>The <c>load</c> arguments that write both files.</summary>
    public string[] Arguments => ["--ack-log", AckLog, "--reject-log", RejectLog];

    /// <summary>Lines in the ack log so far (cheap enough to poll).</summary>
    public int AcknowledgedSoFar => CountLines(AckLog);

    /// <summary>Lines in both logs so far: commands with a final outcome.</summary>
    public int AnsweredSoFar => CountLines(AckLog) + CountLines(RejectLog);

    /// <summary>The acknowledged commands.</summary>
    public IReadOnlyList<AcknowledgedCommand> Acknowledged() => Read<AcknowledgedCommand>(AckLog);

    /// <summary>The rejected commands.</summary>
    public IReadOnlyList<RejectedCommand> Rejected() => Read<RejectedCommand>(RejectLog);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static int CountLines(string path)
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

    private static List<T> Read<T>(string path)
    {
        var entries = new List<T>();
        if (!File.Exists(path))
        {
            return entries;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            try
            {
                entries.Add(JsonSerializer.Deserialize<T>(line, Json)!);
            }
            catch (JsonException)
            {
                // Torn by a kill -9.
            }
        }

        return entries;
    }
}
