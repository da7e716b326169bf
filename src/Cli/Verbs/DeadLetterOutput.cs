using System.Globalization;
using System.Text.Json;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using Spectre.Console;

namespace ActorEvents.Cli.Verbs;

/// <summary>What the <c>dlq</c> verbs print; each method returns the verb's exit code.</summary>
internal sealed class DeadLetterOutput(IAnsiConsole console)
{
    public int List(IReadOnlyList<DeadLetter> entries, bool asJson, MessageTypeRegistry types)
    {
        if (asJson)
        {
            // Raw, so that nothing wraps or styles the JSON.
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(entries, Indented(types)));
            return AdminExitCodes.Success;
        }

        var table = new Table().RoundedBorder().Title($"Dead letters ({entries.Count})");
        foreach (var column in new[] { "Id", "Handler", "Event", "Stream", "#", "Attempts", "Last failure (UTC)", "Error", "Parked" })
        {
            table.AddColumn(column);
        }

        foreach (var e in entries)
        {
            table.AddRow(e.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(e.Handler), Markup.Escape(e.Envelope.EventType), Markup.Escape(e.Envelope.StreamName),
                e.Envelope.SequenceNr.ToString(CultureInfo.InvariantCulture), e.Attempts.ToString(CultureInfo.InvariantCulture), e.LastFailureAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture),
                Markup.Escape(Text.Shorten($"{e.ErrorType[(e.ErrorType.LastIndexOf('.') + 1)..]}: {e.ErrorMessage}", 60)), e.ParkedFollowers.Count.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(table);
        return AdminExitCodes.Success;
    }

    public int Details(DeadLetter entry, MessageTypeRegistry types)
    {
        var details = new Table().RoundedBorder().HideHeaders().AddColumn("").AddColumn("").Title($"Dead letter {entry.Id}");
        details.AddRow("Handler", Markup.Escape(entry.Handler));
        details.AddRow("Event", Markup.Escape($"{entry.Envelope.EventType} v{entry.Envelope.SchemaVersion} ({entry.Envelope.EventId})"));
        details.AddRow("Stream", Markup.Escape($"{entry.Envelope.StreamName} #{entry.Envelope.SequenceNr}"));
        details.AddRow("Correlation / causation", Markup.Escape($"{entry.Envelope.CorrelationId} / {entry.Envelope.CausationId}"));
        details.AddRow("Attempts", entry.Attempts.ToString(CultureInfo.InvariantCulture));
        details.AddRow("First / last failure (UTC)", $"{entry.FirstFailureAt.UtcDateTime:u} / {entry.LastFailureAt.UtcDateTime:u}");
        details.AddRow("Error", Markup.Escape($"{entry.ErrorType}: {entry.ErrorMessage}"));
        details.AddRow("Parked followers", Markup.Escape(string.Join(", ", entry.ParkedFollowers.Select(f => $"#{f.SequenceNr} {f.EventType}")) is { Length: > 0 } parked ? parked : "none"));
        console.Write(details);
        console.WriteLine("Event payload:");
        console.WriteLine(JsonSerializer.Serialize(entry.Envelope.Event, entry.Envelope.Event.GetType(), Indented(types)));
        if (entry.StackTrace is { } stack)
        {
            console.WriteLine("Stack trace:");
            console.WriteLine(stack);
        }

        return AdminExitCodes.Success;
    }

    public int Replay(DeadLetterReplayed replayed)
    {
        if (replayed.Succeeded)
        {
            console.MarkupLine($"Replayed dead letter {replayed.Id}: handled; entry removed; released {replayed.ReleasedFollowers} parked follower(s).");
            return AdminExitCodes.Success;
        }

        console.MarkupLine($"[red]Replay of dead letter {replayed.Id} failed again[/]: {Markup.Escape(replayed.Error ?? "unknown error")}; the entry stays with its attempt count raised.");
        return AdminExitCodes.Failed;
    }

    public int ReplayedAll(DeadLettersReplayed all)
    {
        var failures = all.Results.Count(r => Replay(r) != AdminExitCodes.Success);
        console.MarkupLine($"Replayed {all.Results.Count} dead letter(s): {all.Results.Count - failures} succeeded, {failures} failed again.");
        return failures == 0 ? AdminExitCodes.Success : AdminExitCodes.Failed;
    }

    public int Skipped(DeadLetterSkipped skipped)
    {
        console.MarkupLine($"Skipped dead letter {skipped.Id}; released {skipped.ReleasedFollowers} parked follower(s).");
        return AdminExitCodes.Success;
    }

    public int Purged(DeadLettersPurged purged)
    {
        console.MarkupLine($"Purged {purged.Removed} dead letter(s).");
        return AdminExitCodes.Success;
    }

    private static JsonSerializerOptions Indented(MessageTypeRegistry types)
    {
        var json = ActorEventsSerializer.CreateOptions(types);
        json.WriteIndented = true;
        return json;
    }
}

/// <summary>Text helpers of the printed tables.</summary>
internal static class Text
{
    public static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
