using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;
using Spectre.Console;

namespace ActorEvents.Cli.Verbs;

/// <summary>What the <c>subscriptions</c> verbs print.</summary>
internal sealed class SubscriptionOutput(IAnsiConsole console)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Polls the status until a rebuild has caught up, with a spinner.</summary>
    public async Task<SubscriptionStatus> WaitAsync(ISubscriptionsClient client, string name)
    {
        var status = (await client.StatusAsync(name).ConfigureAwait(false))[0];
        await console.Status().StartAsync("Replaying…", async context =>
        {
            while (status.State is SubscriptionState.Rebuilding or SubscriptionState.Starting || status.LagEvents > 0 && status.State == SubscriptionState.Running)
            {
                context.Status($"Replaying {Markup.Escape(name)}: {status.Position:N0} of {status.Head:N0}");
                await Task.Delay(250).ConfigureAwait(false);
                status = (await client.StatusAsync(name).ConfigureAwait(false))[0];
            }
        }).ConfigureAwait(false);
        return status;
    }

    public void Print(IReadOnlyList<SubscriptionStatus> statuses, bool asJson)
    {
        if (asJson)
        {
            // Raw, so that nothing wraps or styles the JSON.
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(statuses, Json));
            return;
        }

        var nodes = statuses.Select(s => s.Node).OfType<string>().Distinct().ToArray();
        var table = new Table().RoundedBorder().Title($"Subscriptions ({statuses.Count})")
            .Caption(nodes.Length > 0 ? $"running on {string.Join(", ", nodes)}"
                : statuses.Any(s => s.State == SubscriptionState.NotRunning) ? "read from the tables (no node asked)" : "not running on any node");
        foreach (var column in new[] { "Name", "Source", "State", "Checkpoint", "Head", "Lag", "Lag s", "Redelivered", "DLQ/parked", "Last error" })
        {
            table.AddColumn(column);
        }

        foreach (var column in table.Columns.Skip(3).Take(6))
        {
            column.RightAligned();
        }

        foreach (var s in statuses)
        {
            var state = s.State switch
            {
                SubscriptionState.Running => "[green]running[/]",
                SubscriptionState.Paused => "[yellow]paused[/]",
                SubscriptionState.Stalled => "[red]stalled[/]",
                SubscriptionState.Unreachable => "[red]unreachable[/]",
                SubscriptionState.NotRunning => "[grey]not running[/]",
                var other => other.ToString().ToLowerInvariant(),
            };
            table.AddRow(
                $"{Markup.Escape(s.Name)}\n[grey]{s.Kind.ToString().ToLowerInvariant()} · {s.Profile}[/]",
                Markup.Escape(s.Source),
                state,
                Number(s.Checkpoint),
                Number(s.Head),
                Number(s.LagEvents),
                s.LagSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                Number(s.Redeliveries),
                $"{s.DeadLetters}/{s.Parked}",
                Markup.Escape(s.LastError is { } error ? Text.Shorten(error, 60) : "-"));
        }

        console.Write(table);
    }

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
