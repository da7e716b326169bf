using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace ActorEvents.Bench.Output;

/// <summary>Live progress in a terminal: one Spectre progress bar per run.</summary>
internal sealed class SpectreProgress(ProgressContext context) : IBenchProgress
{
    private readonly Dictionary<string, ProgressTask> _tasks = new();
    private readonly Lock _lock = new();

    public void RunStarted(string label)
    {
        lock (_lock)
        {
            _tasks[label] = context.AddTask(Markup.Escape(label), maxValue: 100);
        }
    }

    public void RunProgress(string label, string phase, double fraction, string detail)
    {
        lock (_lock)
        {
            if (_tasks.TryGetValue(label, out var task))
            {
                task.Description = $"{Markup.Escape(label)} [grey]{Markup.Escape(phase)}[/] {Markup.Escape(detail)}";
                task.Value = Math.Clamp(fraction * 100, 0, 100);
            }
        }
    }

    public void RunFinished(string label, BenchResult? result)
    {
        lock (_lock)
        {
            if (_tasks.TryGetValue(label, out var task))
            {
                task.Description = result is null
                    ? Markup.Escape(label)
                    : $"{Markup.Escape(label)} [green]{ConsoleOutput.Summary(result)}[/]";
                task.Value = 100;
                task.StopTask();
            }
        }
    }

    public void Log(string message)
    {
        lock (_lock)
        {
            var task = context.AddTask($"[grey]{Markup.Escape(message)}[/]", maxValue: 1);
            task.Value = 1;
            task.StopTask();
        }
    }
}

/// <summary>Progress for logs and pipes: plain lines on standard error, at most one per run every 5 seconds.</summary>
internal sealed class PlainProgress : IBenchProgress
{
    private readonly Dictionary<string, (long At, string Phase)> _lastPrinted = new();
    private readonly Lock _lock = new();

    public void RunStarted(string label) => Write($"▶ {label}");

    public void RunProgress(string label, string phase, double fraction, string detail)
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            if (_lastPrinted.TryGetValue(label, out var last) && last.Phase == phase && Stopwatch.GetElapsedTime(last.At, now) < TimeSpan.FromSeconds(5))
            {
                return; // a new phase always prints; progress within a phase at most every 5 s
            }

            _lastPrinted[label] = (now, phase);
        }

        Write(string.Create(CultureInfo.InvariantCulture, $"  {label}: {phase} {fraction * 100:0}% {detail}"));
    }

    public void RunFinished(string label, BenchResult? result) =>
        Write(result is null ? $"✓ {label}" : $"✓ {label}: {ConsoleOutput.Summary(result)}");

    public void Log(string message) => Write($"· {message}");

    private static void Write(string line)
    {
        lock (Console.Error)
        {
            Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
        }
    }
}

/// <summary>Tables of a finished report.</summary>
internal static class ConsoleOutput
{
    public static string Summary(BenchResult result) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{result.CommandsPerSec:N0} cmd/s · {result.EventsPerSec:N0} ev/s{(result.MessagesPerSec is { } messages ? $" · {messages:N0} msg/s" : string.Empty)} · p99 {result.P99Ms:0.0} ms{(result.Errors > 0 ? $" · {result.Errors} errors" : string.Empty)}");

    /// <summary>True when the console can draw live progress (a terminal, not a pipe or file).</summary>
    public static bool CanAnimate => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public static void Write(IAnsiConsole console, BenchReport report)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"ActorEvents bench · {Markup.Escape(report.Scenario)}");

        // Every column on a wide console; on a narrow one (e.g. 80 columns) the essentials, the rest stays in the JSON.
        var wide = console.Profile.Width >= 180;
        var columns = new List<(string Header, bool Essential, Func<BenchResult, string> Cell)>
        {
            ("scenario", true, r => Markup.Escape(r.Scenario)),
            ("variant", true, r => Markup.Escape(r.Variant ?? string.Empty)),
            ("db", true, r => r.Db),
            ("rnd", true, r => r.Round?.ToString(CultureInfo.InvariantCulture) ?? string.Empty),
            ("cmd/s", true, r => F(r.CommandsPerSec, "N0")),
            ("events/s", true, r => F(r.EventsPerSec, "N0")),
            ("msg/s", true, r => Optional(r.MessagesPerSec, "N0")),
            ("confirmed/s", true, r => Optional(r.PublishedPerSec, "N0")),
            ("÷ ceiling", true, r => Optional(r.CeilingRatio, "0.000")),
            ("broker CPU µs/msg", false, r => Optional(r.BrokerCpuUsPerMessage, "N0")),
            ("handler runs/s", false, r => r.HandlerRunsPerSec is { } runs ? F(runs, "N0") : string.Empty),
            ("p50 ms", true, r => F(r.P50Ms, "0.00")),
            ("p95 ms", false, r => F(r.P95Ms, "0.00")),
            ("p99 ms", true, r => F(r.P99Ms, "0.00")),
            ("max ms", false, r => F(r.MaxMs, "0.0")),
            ("alloc B/cmd", true, r => F(r.AllocatedBytesPerCommand, "N0")),
            ("CPU µs/cmd", false, r => r.CpuUsPerCommand is { } cpuPerCommand ? F(cpuPerCommand, "N0") : string.Empty),
            ("peak WS MiB", false, r => F(r.PeakWorkingSetBytes / 1048576.0, "N0")),
            ("eff.", true, r => r.Efficiency is { } efficiency ? F(efficiency, "0.000") : string.Empty),
            ("subs", true, r => r.Subscriptions?.ToString(CultureInfo.InvariantCulture) ?? string.Empty),
            ("idle reads/s", true, r => Optional(r.IdleJournalReadsPerSec, "N1")),
            ("idle stmts/s", false, r => Optional(r.IdleStatementsPerSec, "N1")),
            ("idle CPU ms/s", true, r => Optional(r.IdleCpuMsPerSec, "N1")),
            ("reads/s", true, r => Optional(r.JournalReadsPerSec, "N1")),
            ("stmts/s", false, r => Optional(r.StatementsPerSec, "N1")),
            ("CPU ms/s", true, r => Optional(r.CpuMsPerSec, "N1")),
            ("projected ev/s", false, r => Optional(r.ProjectedEventsPerSec, "N0")),
            ("delivery p50 ms", false, r => Optional(r.DeliveryP50Ms, "0.0")),
            ("delivery p99 ms", true, r => Optional(r.DeliveryP99Ms, "0.0")),
            ("drain ms", false, r => Optional(r.DrainMs, "N0")),
            ("cpu", false, r => r.ProcessCpuShare is { } cpu ? F(cpu * 100, "0") + "%" : string.Empty),
            ("load", false, r => r.LoadAverage is { } loadAverage ? F(loadAverage, "0.0") : string.Empty),
            ("errors", true, r => r.Errors == 0 ? "0" : $"[red]{r.Errors}[/]"),
        };
        columns = columns
            .Where(c => wide || c.Essential)
            .Where(c => report.Results.Any(r => c.Cell(r).Length > 0)) // no empty columns (variant, round, efficiency …)
            .ToList();
        foreach (var (header, _, _) in columns)
        {
            var text = header is "scenario" or "variant";
            table.AddColumn(new TableColumn(header) { Alignment = text || header == "db" ? Justify.Left : Justify.Right, NoWrap = !text });
        }

        foreach (var r in report.Results)
        {
            table.AddRow(columns.Select(c => c.Cell(r)).ToArray());
        }

        console.Write(table);
        if (report.Ratios is { Count: > 0 } ratios)
        {
            ratios = report.CpuRatios is null ? ratios : ratios.Concat(report.CpuRatios).ToDictionary();
            var ratioTable = new Table().Border(TableBorder.Rounded).Title("ratios, per round");
            ratioTable.AddColumns("ratio", "min", "median", "max", "rounds", "note");
            foreach (var (name, ratio) in ratios)
            {
                ratioTable.AddRow(
                    Markup.Escape(name),
                    ratio.Min is { } min ? F(min, "0.000") : "n/a",
                    ratio.Median is { } median ? F(median, "0.000") : "n/a",
                    ratio.Max is { } max ? F(max, "0.000") : "n/a",
                    string.Join(" ", ratio.Values.Select(v => F(v, "0.000"))),
                    Markup.Escape(ratio.Note ?? string.Empty));
            }

            console.Write(ratioTable);
        }

        foreach (var line in report.Summary)
        {
            console.MarkupLine(Markup.Escape(line));
        }

        foreach (var r in report.Results.Where(r => r.FirstError is not null))
        {
            console.MarkupLine($"[red]{Markup.Escape(r.Scenario)} {Markup.Escape(r.Variant ?? string.Empty)}: first error: {Markup.Escape(r.FirstError!)}[/]");
        }

        foreach (var r in report.Results.Where(r => r.Notes is not null))
        {
            var name = string.Join(" · ", new[] { r.Scenario, r.Variant, r.Round is { } round ? $"round {round}" : null }.Where(s => s is not null));
            console.MarkupLine($"[grey]{Markup.Escape(name)}: {Markup.Escape(r.Notes!)}{(r.Runtime is null ? string.Empty : "; " + Markup.Escape(r.Runtime))}[/]");
        }
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Optional(double? value, string format) => value is { } figure ? F(figure, format) : string.Empty;
}
