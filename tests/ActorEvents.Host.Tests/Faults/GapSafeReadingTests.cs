using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ActorEvents.Messages;
using Xunit.Abstractions;

namespace ActorEvents.Host.Tests.Faults;

/// <summary>
/// Gap-safe reading on PostgreSQL (issue 11, point 2), end to end against the real host: a <c>serve</c> node that runs
/// the subscriptions and a <c>load --retry-unknown</c> node joined to it. <see cref="HeldJournalTransaction"/> holds one
/// group-commit transaction open, its orderings taken, while later transactions commit (the journal has <c>parallelism
/// = 3</c> writer loops per node on PostgreSQL, and the held statement writes only order streams, so no aggregate that
/// every order needs waits behind it); then it commits late, or rolls back. Afterwards the checks of
/// <see cref="FaultScenario"/>, and the live subscription status of the cluster.
/// </summary>
/// <remarks>
/// Later writes do commit during the hold, on the held node's other writer loops and on the other node, but only for
/// about the first second: Akka.Persistence's <c>AsyncWriteJournal</c> hands write results to the persistent actors in
/// the order the writes reached the journal actor (its resequencer), so the held node acknowledges none of its later
/// writes until the held one ends, and the load's slots soon all wait for one of them. The write timeout is raised so
/// that the held write itself is not cancelled; holding longer than it would fail the write as not written.
/// </remarks>
[Trait("Category", "Fault")]
[Collection(PostgreSqlFaultGroup.Name)]
public sealed partial class GapSafeReadingTests(ITestOutputHelper output)
{
    /// <summary>Orders of the load that runs through a hold (it stalls during the hold and must still run at the release).</summary>
    private const int Orders = 200;

    /// <summary>Orders each node of the two-node case sends.</summary>
    private const int OrdersPerNode = 250;

    /// <summary>How long the transaction is held: under the write timeout and the gap timeout below, and the mediator's 10 s.</summary>
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(6);

    private static readonly TimeSpan GapTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    /// <summary>Every node of the late-commit cases: the held write must not reach its write timeout, nor the gap its gap timeout.</summary>
    private static readonly string[] Tuning = ["--ActorEvents:Persistence:WriteTimeout=00:00:20", $"--ActorEvents:Subscriptions:GapTimeout={GapTimeout:c}"];

    /// <summary>
    /// A transaction that holds an <c>order.shipped</c> event commits 6 s late: meanwhile no checkpoint passes its lowest
    /// ordering although later transactions commit; afterwards every event of it is handed out (read models equal a fold of
    /// the journal, the guarded handler's processed-event record holds every shipment) and no gap was skipped.
    /// </summary>
    [PostgreSqlFact]
    public Task Should_wait_for_a_journal_transaction_that_commits_late_and_hand_out_every_event_of_it() =>
        HoldOneTransactionAsync("gap_late", rollBack: false, outcome =>
        {
            Assert.Empty(outcome.Missing);
            Assert.All(outcome.Statuses, s => Assert.True(s.SkippedGaps == 0 && s.Checkpoint >= outcome.Rows.To, $"{s.Name}: skipped {s.SkippedGaps}, checkpoint {s.Checkpoint}"));
            Assert.DoesNotContain("never committed", outcome.HostOutput, StringComparison.Ordinal);
        });

    /// <summary>
    /// The held transaction raises once released (a rolled-back write): its orderings never commit. They are declared
    /// permanent gaps — counted as <c>skippedGaps</c> in <c>subscriptions status</c>, logged with their orderings and the
    /// time they were really awaited — and passed over; the group-commit writer retries the batch's writes one by one, and
    /// the read models equal the fold.
    /// </summary>
    [PostgreSqlFact]
    public Task Should_declare_the_orderings_of_a_rolled_back_journal_transaction_permanent_gaps_and_count_and_log_them() =>
        HoldOneTransactionAsync("gap_rollback", rollBack: true, outcome =>
        {
            var (rows, missing) = (outcome.Rows, outcome.Missing);
            Assert.Equal(rows.Rows, missing.Count);
            Assert.Contains(rows.From, missing);
            Assert.Contains(rows.To, missing);

            var logged = GapLogLine().Matches(outcome.HostOutput).ToArray();
            outcome.Run.Note($"host log: {logged.Length} lines 'Journal orderings … never committed', e.g. {logged.FirstOrDefault()?.Value}");
            Assert.Equal(missing, logged.SelectMany(m => m.Groups["orderings"].Value.Split(", ").Select(long.Parse)).Distinct().Order());
            // The wait they report is the real one (the rolled-back transaction ended long before the gap timeout).
            Assert.All(logged, m => Assert.True(Seconds(m) <= outcome.SinceHeld.TotalSeconds, m.Value));
            Assert.All(outcome.Statuses, s => Assert.True(
                s.SkippedGaps == missing.Count && s.Checkpoint > rows.To && s.LastError?.Contains(rows.From.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal) == true
                    && StatusWait().Match(s.LastError) is { Success: true } wait && Seconds(wait) <= outcome.SinceHeld.TotalSeconds,
                $"{s.Name}: skipped {s.SkippedGaps}, checkpoint {s.Checkpoint}, last error {s.LastError} ({outcome.SinceHeld.TotalSeconds:0.0} s since the hold began)"));
        });

    /// <summary>
    /// Two nodes of one cluster on one PostgreSQL database, each running <c>load</c> at the same time (two group-commit
    /// writers, three transactions each in flight, so orderings commit out of order all the time): afterwards every read
    /// model equals a fold of the journal and the guarded handler's record holds every shipment, nothing skipped.
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_fold_every_read_model_from_the_journal_after_two_nodes_wrote_to_it_at_once()
    {
        using var database = ProcessDatabase.Postgres("gap_nodes");
        using var run = new FaultScenario(output, "two nodes under load at once on one PostgreSQL database", database);
        var port = HostProcess.FreePort();
        var secondLogs = run.NewLogs();
        // Both start at once and send nothing before both are members (--wait-for-members 2), so that their loads overlap.
        using (var first = run.StartLoad(OrdersPerNode, node: ["--wait-for-members", "2"], port: port))
        {
            using var second = run.StartLoad(OrdersPerNode, node: ["--wait-for-members", "2", "--seed", HostProcess.SeedOf(port)], logs: secondLogs);
            await second.WaitUntilAsync(() => secondLogs.AnsweredSoFar >= 50, "the second node's first 50 answered commands", Timeout);
            var (firstAnswered, secondAnswered) = (run.Logs.AnsweredSoFar, secondLogs.AnsweredSoFar);
            await Task.Delay(TimeSpan.FromSeconds(2));
            run.Note($"in 2 s while both ran: first node {firstAnswered} → {run.Logs.AnsweredSoFar}, second node {secondAnswered} → {secondLogs.AnsweredSoFar} commands answered");
            Assert.True(run.Logs.AnsweredSoFar > firstAnswered && secondLogs.AnsweredSoFar > secondAnswered && !first.HasExited && !second.HasExited,
                "both nodes should have been answering commands at the same time");
            await Task.WhenAll(run.FinishLoadAsync(first), run.FinishLoadAsync(second));
        }

        var journal = JournalAudit.ReadJournal(database);
        var byNode = journal.GroupBy(e => e.SourceNode).Select(g => $"{g.Key} {g.Count()}").ToArray();
        run.Note($"journal: {journal.Count} events, by the node that applied them: {string.Join(", ", byNode)}; orderings that never committed: {MissingOrderings(database).Count}");
        Assert.True(byNode.Length >= 2, "both nodes should have applied commands");
        JournalAudit.AssertReadModelsEqualTheJournal(database, journal);
        await run.CheckAsync();
    }

    /// <summary>
    /// A <c>serve</c> node, a load joined to it and one transaction held (<see cref="HoldAndReleaseAsync"/>); then, with the
    /// node still running the subscriptions, the read models against the fold of the journal and <paramref name="check"/>
    /// of what happened; then the checks of <see cref="FaultScenario"/>.
    /// </summary>
    private async Task HoldOneTransactionAsync(string prefix, bool rollBack, Action<HeldOutcome> check)
    {
        using var database = ProcessDatabase.Postgres(prefix);
        await using var held = await HeldJournalTransaction.InstallAsync(database);
        using var run = new FaultScenario(output, $"PostgreSQL journal transaction held {Hold.TotalSeconds:0} s, then {(rollBack ? "rolled back" : "committed")}", database);
        var port = HostProcess.FreePort();
        var adminPort = HostProcess.FreePort();
        using (var node = HostProcess.Start(database, port, ["serve", .. Tuning, $"--ActorEvents:Operations:Port={adminPort}"]))
        {
            var (rows, sinceHeld) = await HoldAndReleaseAsync(run, node, port, held, rollBack);
            var missing = MissingOrderings(database);
            run.Note($"orderings that never committed: {(missing.Count == 0 ? "none" : string.Join(", ", missing))}");
            run.NoteLogDigest("serve node", node.Output);
            JournalAudit.AssertReadModelsEqualTheJournal(database, JournalAudit.ReadJournal(database));
            var statuses = await StatusAsync(database, adminPort);
            check(new HeldOutcome(run, rows, missing, node.Output, statuses, sinceHeld.Elapsed));
        }

        await run.CheckAsync();
    }

    /// <summary>What a held transaction left: its rows, the orderings that never committed, the serve node's log, the live status.</summary>
    private sealed record HeldOutcome(
        FaultScenario Run, HeldRows Rows, IReadOnlyList<long> Missing, string HostOutput, IReadOnlyList<SubscriptionStatus> Statuses, TimeSpan SinceHeld);

    /// <summary>
    /// Runs a load on a node joined to <paramref name="node"/>, holds one journal transaction for <see cref="Hold"/> while
    /// checking that no checkpoint passes it and that later transactions commit, releases it, waits until every checkpoint
    /// passed it and the load drained.
    /// </summary>
    private async Task<(HeldRows Rows, Stopwatch SinceHeld)> HoldAndReleaseAsync(FaultScenario run, HostProcess node, int port, HeldJournalTransaction held, bool rollBack)
    {
        var database = run.Database;
        await node.WaitUntilListeningAsync(port, Timeout);
        using var load = run.StartLoad(Orders, node: [.. Tuning, "--seed", HostProcess.SeedOf(port)]);
        await run.WaitForAnsweredAsync(load, 50);
        await held.ArmAsync();
        var rows = await held.WaitUntilHeldAsync(load, Timeout);
        var sinceHeld = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        var checkpointsBefore = Checkpoints(database);
        run.Note($"held: {rows}; checkpoints {checkpointsBefore}; {run.Logs.AnsweredSoFar} commands answered");

        var answeredBefore = run.Logs.AnsweredSoFar;
        var highestCheckpoint = 0L;
        var laterCommitted = 0L;
        var perSecond = new List<long>();
        TimeSpan? firstLaterCommit = null;
        while (clock.Elapsed < Hold)
        {
            highestCheckpoint = Math.Max(highestCheckpoint, database.Scalar("SELECT COALESCE(MAX(position), 0) FROM ae_checkpoints"));
            laterCommitted = database.Scalar($"SELECT COUNT(*) FROM journal WHERE ordering > {rows.To}");
            firstLaterCommit ??= laterCommitted > 0 ? clock.Elapsed : null;
            if (clock.Elapsed >= TimeSpan.FromSeconds(perSecond.Count + 1))
            {
                perSecond.Add(laterCommitted);
            }

            Assert.True(held.IsWaiting(rows), $"the held statement ({rows}) should still wait for the lock");
            await Task.Delay(100);
        }

        var heldFor = clock.Elapsed;
        var checkpointsHeld = Checkpoints(database);
        var sameWriter = database.Scalar($"SELECT COUNT(*) FROM journal WHERE ordering > {rows.To} AND writer_uuid = '{rows.Writer}'");
        var answeredDuring = run.Logs.AnsweredSoFar - answeredBefore;
        Assert.False(load.HasExited, $"the load ended while the transaction was held: make it longer\n{load.Output}");
        await held.ReleaseAsync(rollBack);
        clock.Restart();
        run.Note($"{(rollBack ? "rolled back" : "committed")} after {heldFor.TotalSeconds:0.0} s held: meanwhile {laterCommitted} rows committed above ordering {rows.To} " +
            $"({sameWriter} by the held node's other writer loops; the first after {firstLaterCommit?.TotalMilliseconds ?? -1:0} ms; by second: {string.Join(", ", perSecond)}), " +
            $"{answeredDuring} commands answered; highest checkpoint {highestCheckpoint}; checkpoints {checkpointsHeld}");
        Assert.True(highestCheckpoint < rows.From, $"a checkpoint ({highestCheckpoint}) passed the held ordering {rows.From} while it could still commit");
        Assert.True(sameWriter > 0 && laterCommitted > sameWriter,
            $"later transactions of the held node ({sameWriter}) and of the other node ({laterCommitted - sameWriter}) should commit while {rows} is held");

        await load.WaitUntilAsync(() => database.Scalar($"SELECT COUNT(*) FROM ae_checkpoints WHERE position <= {rows.To}") == 0,
            $"every checkpoint past ordering {rows.To}", Timeout);
        run.Note($"every checkpoint passed ordering {rows.To} {clock.Elapsed.TotalSeconds:0.0} s after the release (gap timeout {GapTimeout.TotalSeconds:0} s): {Checkpoints(database)}");
        await run.FinishLoadAsync(load);
        return (rows, sinceHeld);
    }

    private async Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(ProcessDatabase database, int adminPort)
    {
        var statuses = await HostProcess.SubscriptionStatusAsync(database, adminPort, Timeout);
        foreach (var s in statuses)
        {
            output.WriteLine($"status {s.Name}: {s.State}, checkpoint {s.Checkpoint}, head {s.Head}, lag {s.LagEvents}, skippedGaps {s.SkippedGaps}, last error {s.LastError ?? "-"}");
        }

        Assert.Equal(["order-totals", "stock-levels", "order-shipments", "stock-on-shipment"], statuses.Select(s => s.Name));
        return statuses;
    }

    private static string Checkpoints(ProcessDatabase database) =>
        string.Join(", ", database.Rows("SELECT subscription, position FROM ae_checkpoints ORDER BY subscription", r => $"{r.GetString(0)} {r.GetInt64(1)}"));

    /// <summary>Orderings up to the journal's highest that no committed row has (taken by a statement that rolled back).</summary>
    private static List<long> MissingOrderings(ProcessDatabase database) => database.Rows(
        "SELECT s FROM generate_series(1, (SELECT COALESCE(MAX(ordering), 0) FROM journal)) AS s WHERE NOT EXISTS (SELECT 1 FROM journal WHERE ordering = s) ORDER BY s",
        r => r.GetInt64(0));

    private static double Seconds(Match match) => double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Journal orderings (?<orderings>\d+(?:, \d+)*) never committed: declared permanent gaps \(rolled-back writes\) after (?<seconds>[\d.]+) s")]
    private static partial Regex GapLogLine();

    [GeneratedRegex(@"never committed within (?<seconds>[\d.]+) s")]
    private static partial Regex StatusWait();
}
