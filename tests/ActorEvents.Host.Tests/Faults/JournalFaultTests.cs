using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace ActorEvents.Host.Tests.Faults;

/// <summary>
/// The fault suite on SQLite (issue 10): the real host process runs <c>load --retry-unknown</c> with both command logs
/// while the test takes the database's write lock, kills the host, or makes the database files unwritable; afterwards
/// every reply must have told the truth about the journal (see <see cref="FaultScenario"/>). Sizes: <see cref="FaultScale"/>.
/// </summary>
[Trait("Category", "Fault")]
public sealed class JournalFaultTests(ITestOutputHelper output)
{
    /// <summary>
    /// What a backup, a slow durable handler, a projection rebuild or a CLI node does: a second connection takes SQLite's
    /// only write lock (<c>BEGIN IMMEDIATE</c>) and keeps it 15 s. Before the journal's write path told the truth, the
    /// writes timed out as <c>NotPersisted</c> and then committed when the lock was released.
    /// </summary>
    [Fact]
    public async Task Should_tell_the_truth_about_every_command_while_another_connection_holds_the_sqlite_write_lock_for_15_s()
    {
        using var database = ProcessDatabase.Sqlite();
        using var run = new FaultScenario(output, "SQLite write lock held 15 s by another connection", database);
        using (var load = run.StartLoad(FaultScale.Orders))
        {
            await run.WaitForAnsweredAsync(load, FaultScale.FaultAfter);
            await using (var blocker = new SqliteConnection(database.ConnectionString + ";Pooling=False"))
            {
                await blocker.OpenAsync();
                Execute(blocker, "BEGIN IMMEDIATE;");
                run.Note($"write lock taken ({run.Logs.AnsweredSoFar} commands answered)");
                await Task.Delay(TimeSpan.FromSeconds(15));
                Execute(blocker, "ROLLBACK;");
                run.Note($"write lock released ({run.Logs.AnsweredSoFar} commands answered)");
            }

            Assert.False(load.HasExited, $"the load ended before the fault did: make it longer\n{load.Output}");
            await run.FinishLoadAsync(load);
        }

        await run.CheckAsync();
    }

    /// <summary>
    /// The host process killed with SIGKILL at random points under load (<see cref="FaultScale.Kills"/> times during
    /// <see cref="FaultScale.KillCommands"/> commands) and started again; a last run finishes and drains. Commands in
    /// flight at a kill have no final outcome in either log; everything else is checked as in the other scenarios.
    /// </summary>
    [Fact]
    public async Task Should_keep_every_acknowledged_command_exactly_once_and_the_ledger_balanced_across_kill_minus_nine_of_the_host()
    {
        using var database = ProcessDatabase.Sqlite();
        var seed = Environment.TickCount;
        var random = new Random(seed);
        using var run = new FaultScenario(output, $"kill -9 of the host, {FaultScale.Kills} times (seed {seed})", database);
        var step = FaultScale.KillCommands / (FaultScale.Kills + 1);
        for (var kill = 1; kill <= FaultScale.Kills; kill++)
        {
            var answered = run.Logs.AnsweredSoFar;
            var killAfter = Math.Max(40, random.Next(step / 2, step * 3 / 2));
            // The load must still be running when it has answered killAfter commands: at least that many orders' worth.
            using var node = run.StartLoad(Math.Max(RemainingOrders(answered), killAfter / 2 + 20), drain: false);
            await run.WaitForAnsweredAsync(node, answered + killAfter);
            node.Kill();
            run.Note($"kill {kill}: {run.Logs.AnsweredSoFar} commands answered so far");
        }

        using (var last = run.StartLoad(RemainingOrders(run.Logs.AnsweredSoFar)))
        {
            await run.FinishLoadAsync(last);
        }

        // Redeliveries the guarded shipment ledger skipped (events it had handled before a kill).
        run.Note($"{database.Scalar("SELECT COALESCE(SUM(redeliveries), 0) FROM ae_processed_events")} redeliveries skipped by the guarded durable handler");
        var figures = await run.CheckAsync(allowUnlogged: true);
        Assert.True(figures.Audit.Acknowledged > FaultScale.KillCommands / 2, $"the load should have gone on between the kills: {figures}");

        // Orders left to reach the scenario's command count (about 2.25 commands per order), at least a few.
        static int RemainingOrders(int answered) => Math.Max(20, (int)((FaultScale.KillCommands - answered) / 2.25));
    }

    /// <summary>
    /// The database made unwritable for 5 s. What really stops SQLite's writes here (found by trying, as root on ext4):
    /// <c>chmod</c> does not (root ignores it, and permissions are checked when a file is opened, not on writes through a
    /// descriptor that is already open: a process running as <c>nobody</c> kept writing after <c>chmod 555</c> of its
    /// directory and <c>chmod 444</c> of the files); <c>chattr +i</c> of the directory does not either (it only stops new
    /// files, and the database, <c>-wal</c> and <c>-shm</c> files exist while the host runs); <c>chattr +i</c> of the
    /// <c>-shm</c> file kills the process with SIGBUS (SQLite maps it into memory). <c>chattr +i</c> of the database file
    /// and its <c>-wal</c> does it: every write and commit then fails with SQLITE_IOERR ("disk I/O error", EPERM) on the
    /// host's open connections, reads keep working, and writes succeed again once the attribute is removed.
    /// </summary>
    [Fact]
    public async Task Should_tell_the_truth_about_every_command_while_the_sqlite_database_is_unwritable_for_5_s()
    {
        using var database = ProcessDatabase.Sqlite();
        using var run = new FaultScenario(output, "SQLite database and WAL unwritable 5 s (chattr +i)", database);
        var path = database.SqlitePath!;
        string[] files = [path, path + "-wal"];
        using (var load = run.StartLoad(FaultScale.Orders))
        {
            await run.WaitForAnsweredAsync(load, FaultScale.FaultAfter);
            Assert.True(files.All(File.Exists), "the database runs in WAL mode: its -wal file exists while the host runs");
            try
            {
                Chattr("+i", files);
                run.Note($"database and WAL immutable ({run.Logs.AnsweredSoFar} commands answered)");
                Assert.Throws<SqliteException>(() =>
                {
                    // Proof that the fault is in place: a write of this process fails too.
                    using var probe = new SqliteConnection(database.ConnectionString + ";Pooling=False");
                    probe.Open();
                    Execute(probe, "BEGIN IMMEDIATE; CREATE TABLE fault_probe (x INTEGER); COMMIT;");
                });
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
            finally
            {
                Chattr("-i", files);
                run.Note($"database writable again ({run.Logs.AnsweredSoFar} commands answered)");
            }

            Assert.False(load.HasExited, $"the load ended before the fault did: make it longer\n{load.Output}");
            await run.FinishLoadAsync(load);
        }

        await run.CheckAsync();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void Chattr(string flag, IEnumerable<string> files)
    {
        var start = new ProcessStartInfo("chattr") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(flag);
        foreach (var file in files)
        {
            start.ArgumentList.Add(file);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("chattr did not start.");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0,
            $"chattr {flag} failed ({process.ExitCode}: {error.Trim()}): this scenario needs root (CAP_LINUX_IMMUTABLE) on a filesystem with the immutable attribute (ext4, xfs, btrfs)");
    }
}
