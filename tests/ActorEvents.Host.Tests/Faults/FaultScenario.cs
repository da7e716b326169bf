using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ActorEvents.Host.Tests.Faults;

/// <summary>One row of the published fault figures.</summary>
/// <param name="Scenario">What was done to the host.</param>
/// <param name="Provider">sqlite or postgresql.</param>
/// <param name="Commands">Commands with a final outcome.</param>
/// <param name="Audit">The command logs against the journal.</param>
/// <param name="Ledger">The stock ledger after the dead letters were replayed.</param>
/// <param name="DeadLettersReplayed">Dead letters of the stock handler the fault left, replayed with <c>dlq replay-all</c>.</param>
/// <param name="DeadLettersByHandler">Every dead letter the fault left, by handler (all replayed).</param>
/// <param name="Seconds">Wall time of the scenario.</param>
public sealed record FaultFigures(
    string Scenario, string Provider, int Commands, CommandAudit Audit, StockLedger Ledger, int DeadLettersReplayed, string DeadLettersByHandler, double Seconds)
{
    /// <summary>Rejected commands by code, e.g. <c>NotPersisted 12, Timeout 1</c> (none: <c>0</c>).</summary>
    public string RejectedByCode => Audit.RejectedByCode.Count == 0 ? "0" : string.Join(", ", Audit.RejectedByCode.Select(p => $"{p.Key} {p.Value}"));

    /// <summary>The ledger, in words.</summary>
    public string LedgerText => (Ledger.Balanced ? "balanced" : "OFF") + $" ({Ledger.Skus} SKUs, {Ledger.Shipped} shipments"
        + (DeadLettersReplayed > 0 ? $", {DeadLettersReplayed} dead-lettered reductions replayed" : "") + ")";

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Scenario} ({Provider}, {FaultScale.Name}): commands {Commands}, acknowledged {Audit.Acknowledged} ({Audit.Duplicates} duplicates), " +
        $"rejected by code: {RejectedByCode}, unknown outcome present/absent {Audit.UnknownPresent}/{Audit.UnknownAbsent}, " +
        $"lost {Audit.Lost}, rejected-but-present {Audit.RejectedButPresent}, duplicated {Audit.Duplicated}, gaps {Audit.Gaps}, " +
        $"unlogged (in flight at a kill) {Audit.Unlogged}, events {Audit.Events}, replies to all attempts: {string.Join(", ", Audit.Replies.Select(p => $"{p.Key} {p.Value}"))}, ledger {LedgerText}, " +
        $"dead letters replayed: {(DeadLettersByHandler.Length == 0 ? "none" : DeadLettersByHandler)}, {Seconds:0} s");
}

/// <summary>
/// One fault scenario against the real host process: <c>load --retry-unknown</c> with both command logs on a database
/// of its own, the fault injected by the test, then the checks: nothing acknowledged lost, nothing answered "not
/// written" present, nothing twice, no gaps, the stock ledger balanced — first allowing the shipments whose stock
/// reduction is in the dead-letter store, then again after <c>dlq replay-all</c> with every shipment reduced — and every
/// durable read model equal to a fold of the journal. Prints one row of figures (test output and a
/// <c>[fault figures]</c> console line) and asserts it.
/// </summary>
public sealed partial class FaultScenario(ITestOutputHelper output, string scenario, ProcessDatabase database) : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(FaultScale.Full ? 30 : 5);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private readonly List<CommandLogs> _moreLogs = [];

    /// <summary>The command logs of every run of the scenario (of one node, when <see cref="NewLogs"/> gave others theirs).</summary>
    public CommandLogs Logs { get; } = new();

    /// <summary>Every command log of the scenario: <see cref="Logs"/> and those of <see cref="NewLogs"/>.</summary>
    public IEnumerable<CommandLogs> AllLogs => _moreLogs.Prepend(Logs);

    /// <summary>Another pair of command logs, for a load that runs at the same time as another one (one writer per file); checked with the others.</summary>
    public CommandLogs NewLogs()
    {
        var logs = new CommandLogs();
        _moreLogs.Add(logs);
        return logs;
    }

    /// <summary>The database.</summary>
    public ProcessDatabase Database => database;

    /// <summary>Writes a line to the test output, with the time since the scenario began.</summary>
    public void Note(string line) => output.WriteLine($"{_clock.Elapsed:mm\\:ss\\.f} {line}");

    /// <summary>Starts <c>load --retry-unknown</c> with both logs.</summary>
    /// <param name="orders">Orders to send.</param>
    /// <param name="drain">Wait at the end until every subscription caught up.</param>
    /// <param name="node">More arguments for the node (e.g. <c>--seed</c>, <c>--ActorEvents:…=…</c>).</param>
    /// <param name="logs">The logs to write (default <see cref="Logs"/>).</param>
    /// <param name="port">The node's remoting port (0: any free port).</param>
    public HostProcess StartLoad(int orders, bool drain = true, IReadOnlyList<string>? node = null, CommandLogs? logs = null, int port = 0) =>
        HostProcess.Start(database, port,
        ["load", "--orders", orders.ToString(CultureInfo.InvariantCulture), "--concurrency", FaultScale.Concurrency.ToString(CultureInfo.InvariantCulture),
            "--retry-unknown", .. (logs ?? Logs).Arguments, .. (drain ? new[] { "--drain" } : []), .. node ?? []]);

    /// <summary>Waits until at least <paramref name="answered"/> commands have a final outcome.</summary>
    public Task WaitForAnsweredAsync(HostProcess load, int answered) =>
        load.WaitUntilAsync(() => Logs.AnsweredSoFar >= answered, $"{answered} answered commands", RunTimeout);

    /// <summary>Waits for a load to end and requires exit code 0 (every subscription caught up).</summary>
    public async Task<JsonElement> FinishLoadAsync(HostProcess load)
    {
        var exiting = load.WaitForExitAsync(RunTimeout);
        while (await Task.WhenAny(exiting, Task.Delay(TimeSpan.FromSeconds(10))) != exiting)
        {
            Note($"… {Logs.AnsweredSoFar} commands answered");
        }

        var exitCode = await exiting;
        var summary = SummaryOf(load.Output);
        Note($"load ended ({exitCode}): {summary}");
        NoteLogDigest("host", load.Output);
        // The whole log of the host, kept for a failure's post-mortem (the digest above is only its most frequent lines).
        var logFile = Path.Combine(Path.GetTempPath(), $"actorevents-fault-{database.PostgresDatabase ?? Path.GetFileNameWithoutExtension(database.SqlitePath)}.log");
        File.AppendAllText(logFile, $"===== load ended at {_clock.Elapsed:mm\\:ss\\.f}\n{load.Output}\n");
        Note($"  host log: {logFile}");
        // Verbatim, the lines that say how the durable path went through the fault (gaps passed over, the ledger handler's failures).
        foreach (var line in load.Output.Split('\n').Where(l => l.Contains("never committed", StringComparison.Ordinal)
            || l.Contains("ShipmentLedgerHandler", StringComparison.Ordinal) || l.Contains("order-shipments", StringComparison.Ordinal)).Take(20))
        {
            Note($"  host: {line.Trim()[..Math.Min(400, line.Trim().Length)]}");
        }

        Assert.True(exitCode == 0, $"the load exited with {exitCode}:\n{Tail(load.Output)}");
        return summary;
    }

    /// <summary>
    /// The checks, once the fault is over and the last load ended: audit, ledger allowing dead letters, <c>dlq
    /// replay-all</c> of the stock handler, a short load after the fault (every command of it acknowledged; it drains
    /// the subscriptions), then the full ledger and the read models. Prints and asserts the figures.
    /// </summary>
    /// <param name="allowUnlogged">True when the host was killed: commands in flight then have no final outcome.</param>
    public async Task<FaultFigures> CheckAsync(bool allowUnlogged = false)
    {
        var failures = new List<string>();
        var journal = JournalAudit.ReadJournal(database);
        var before = JournalAudit.Ledger(journal, JournalAudit.DeadLetters(database));
        Note($"after the fault: {journal.Count} events, {before.Shipped} shipments, {before.ShippedWithoutReduction} without reduction, " +
            $"{before.OpenDeadLetters} open dead letters of the stock handler ({before.DeadLettersAlreadyReduced} of them reduced anyway)");
        if (!before.BalancedWithDeadLetters)
        {
            failures.Add($"the stock ledger is off before the dead letters are replayed: {string.Join("; ", before.Evidence.Take(20))}");
        }

        // Every handler's dead letters (the stock handler's, and a durable handler's that failed for good during the fault) replayed.
        var deadLetters = JournalAudit.DeadLetters(database).GroupBy(d => d.Handler).OrderBy(g => g.Key, StringComparer.Ordinal).ToArray();
        var deadLettersByHandler = string.Join(", ", deadLetters.Select(g => $"{g.Key} {g.Count()}"));
        Note($"open dead letters by handler: {(deadLetters.Length == 0 ? "none" : deadLettersByHandler)}");
        // Which events they hold (a handler with a few): an audit that later misses an event says whether a replay ran it.
        foreach (var few in deadLetters.Where(g => g.Count() <= 5))
        {
            Note($"dead letters of {few.Key}: {string.Join(", ", few.Select(d => $"#{d.Id} event {d.EventId} ({d.AggregateId})"))}");
        }

        foreach (var handler in deadLetters.Select(g => g.Key))
        {
            var (exitCode, replayOutput) = await HostProcess.RunAsync(database, RunTimeout, "dlq", "replay-all", "--handler", handler);
            var replayTail = Tail(replayOutput).Replace('\n', ' ');
            Note($"dlq replay-all --handler {handler}: exit {exitCode}; open dead letters of it afterwards: " +
                $"{JournalAudit.DeadLetters(database).Count(d => d.Handler == handler)}; output: {replayTail[..Math.Min(600, replayTail.Length)]}");
            if (exitCode != 0)
            {
                failures.Add($"dlq replay-all --handler {handler} exited with {exitCode}:\n{Tail(replayOutput)}");
            }
        }

        // A short load after the fault: the host takes commands again, and its drain lets the projections catch up.
        using (var after = StartLoad(20))
        {
            var summary = await FinishLoadAsync(after);
            if (!summary.TryGetProperty("rejected", out var rejected) || rejected.GetInt32() != 0)
            {
                failures.Add($"commands sent after the fault were rejected: {summary}");
            }
        }

        journal = JournalAudit.ReadJournal(database);
        var ledger = JournalAudit.Ledger(journal, JournalAudit.DeadLetters(database));
        var audit = JournalAudit.Commands(journal, [.. AllLogs.SelectMany(l => l.Acknowledged())], [.. AllLogs.SelectMany(l => l.Rejected())]);
        var figures = new FaultFigures(scenario, database.Provider, audit.Commands, audit, ledger, before.OpenDeadLetters, deadLettersByHandler, _clock.Elapsed.TotalSeconds);
        output.WriteLine(figures.ToString());
        Console.WriteLine($"[fault figures] {figures}");
        foreach (var line in audit.Evidence.Concat(ledger.Evidence).Take(40))
        {
            output.WriteLine($"  {line}");
        }

        Check(audit.Lost == 0, "acknowledged events are missing from the journal");
        Check(audit.RejectedButPresent == 0, "commands answered with a code that means 'not written' are in the journal");
        Check(audit.Duplicated == 0, "command ids have their events in the journal more than once");
        Check(audit.Gaps == 0, "streams have gaps in their sequence numbers");
        Check(audit.InBothLogs == 0, "command ids have more than one final outcome");
        Check(allowUnlogged || audit.Unlogged == 0, "commands of the load are in the journal without a final outcome in either log");
        Check(ledger.Balanced && ledger.OpenDeadLetters == 0, "the stock ledger is off after the dead letters were replayed");
        Check(JournalAudit.DeadLetters(database).Count == 0, "dead letters are left after dlq replay-all");
        Assert.True(failures.Count == 0, $"{figures}\n{string.Join("\n", failures)}\nevidence:\n{string.Join("\n", audit.Evidence.Concat(ledger.Evidence).Take(40))}");

        JournalAudit.AssertReadModelsEqualTheJournal(database, journal);
        return figures;

        void Check(bool condition, string failure)
        {
            if (!condition)
            {
                failures.Add(failure);
            }
        }
    }

    public void Dispose()
    {
        foreach (var logs in AllLogs)
        {
            logs.Dispose();
        }
    }

    private static JsonElement SummaryOf(string processOutput)
    {
        foreach (var line in processOutput.Split('\n').Reverse())
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("{\"acknowledged\"", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(trimmed).RootElement.Clone();
            }
        }

        return JsonDocument.Parse("{}").RootElement.Clone();
    }

    /// <summary>Writes the most frequent warnings and errors of a host's output to the test output.</summary>
    /// <param name="name">What to call the host in the output.</param>
    /// <param name="processOutput">The host's output.</param>
    public void NoteLogDigest(string name, string processOutput)
    {
        foreach (var (message, count) in LogDigest(processOutput).Take(12))
        {
            Note($"  {name} log ×{count}: {message}");
        }
    }

    /// <summary>The host's Akka warnings and errors, ids and numbers masked, most frequent first: what went on inside during the fault.</summary>
    private static IEnumerable<(string Message, int Count)> LogDigest(string processOutput) =>
        processOutput.Split('\n')
            .Select(line => LogLine().Match(line))
            .Where(match => match.Success)
            .Select(match => Masked().Replace(match.Groups["message"].Value, "#"))
            .Select(message => message.Length > 180 ? message[..180] + "…" : message)
            .GroupBy(message => message)
            .Select(group => (group.Key, group.Count()))
            .OrderByDescending(entry => entry.Item2);

    [GeneratedRegex(@"\[(?:ERROR|WARNING)\]\[[^\]]*\]\[[^\]]*\]\[[^\]]*\] (?<message>.*)$")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"[0-9a-f]{32}|load-[0-9a-f]{8}-\d+|\d+")]
    private static partial Regex Masked();

    private static string Tail(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];
}
