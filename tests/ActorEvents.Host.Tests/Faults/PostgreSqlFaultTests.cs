using System.Diagnostics;
using Npgsql;
using Xunit.Abstractions;

namespace ActorEvents.Host.Tests.Faults;

/// <summary>
/// The PostgreSQL fault tests run alone: one of them stops the server, which every other PostgreSQL test would feel.
/// xunit runs a collection with parallelization disabled after the parallel ones, by itself.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgreSqlFaultGroup
{
    /// <summary>Collection name.</summary>
    public const string Name = "postgresql faults";
}

/// <summary>
/// The fault suite on PostgreSQL (issue 10): the real host process runs <c>load --retry-unknown</c> on a database created
/// for the test while the test locks the journal table, stops the server, or terminates the host's connections; then the
/// checks of <see cref="FaultScenario"/>. The server is up again (pg_isready) before each test ends, also when it fails.
/// </summary>
[Trait("Category", "Fault")]
[Collection(PostgreSqlFaultGroup.Name)]
public sealed class PostgreSqlFaultTests(ITestOutputHelper output)
{
    /// <summary>
    /// Another connection holds <c>LOCK TABLE journal IN EXCLUSIVE MODE</c> for 15 s (reads pass, inserts wait): the
    /// journal's statements reach their command timeout at the write deadline and are cancelled, so they roll back.
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_tell_the_truth_about_every_command_while_the_journal_table_is_locked_for_15_s()
    {
        using var database = ProcessDatabase.Postgres("fault_lock");
        using var run = new FaultScenario(output, "PostgreSQL LOCK TABLE journal IN EXCLUSIVE MODE 15 s", database);
        using (var load = run.StartLoad(FaultScale.Orders))
        {
            await run.WaitForAnsweredAsync(load, FaultScale.FaultAfter);
            await using (var locker = new NpgsqlConnection(database.ConnectionString))
            {
                await locker.OpenAsync();
                await using var transaction = await locker.BeginTransactionAsync();
                await new NpgsqlCommand("LOCK TABLE journal IN EXCLUSIVE MODE", locker, transaction).ExecuteNonQueryAsync();
                run.Note($"journal locked ({run.Logs.AnsweredSoFar} commands answered)");
                await Task.Delay(TimeSpan.FromSeconds(15));
                await transaction.CommitAsync();
                run.Note($"journal unlocked ({run.Logs.AnsweredSoFar} commands answered)");
            }

            Assert.False(load.HasExited, $"the load ended before the fault did: make it longer\n{load.Output}");
            await run.FinishLoadAsync(load);
        }

        await run.CheckAsync();
    }

    /// <summary>
    /// The server stopped with <c>pg_ctlcluster … stop -m immediate</c> (no checkpoint, every backend ends at once) for
    /// 10 s under load, then started again.
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_tell_the_truth_about_every_command_when_postgresql_stops_for_10_s()
    {
        using var database = ProcessDatabase.Postgres("fault_stop");
        using var run = new FaultScenario(output, "PostgreSQL stopped 10 s (immediate) and started", database);
        var cluster = PostgresCluster.Find(database.ConnectionString);
        // The other test assemblies use the same server: wait until none of their tests has a database open.
        await using var stopping = await PostgresServerLock.StopTheServerAsync();
        try
        {
            using (var load = run.StartLoad(FaultScale.Orders))
            {
                await run.WaitForAnsweredAsync(load, FaultScale.FaultAfter);
                cluster.Stop();
                run.Note($"PostgreSQL {cluster} stopped ({run.Logs.AnsweredSoFar} commands answered)");
                await Task.Delay(TimeSpan.FromSeconds(10));
                cluster.Start();
                run.Note($"PostgreSQL {cluster} started ({run.Logs.AnsweredSoFar} commands answered)");
                await run.FinishLoadAsync(load);
            }
        }
        finally
        {
            cluster.EnsureUp();
        }

        await run.CheckAsync();
    }

    /// <summary>
    /// Every connection of the host's database terminated with <c>pg_terminate_backend</c>, five times, 1 s apart, mid-load
    /// (2 s apart, the load could end with the fifth round on 2 cores; twice the load took two minutes).
    /// </summary>
    [PostgreSqlFact]
    public async Task Should_tell_the_truth_about_every_command_when_the_hosts_connections_are_terminated()
    {
        using var database = ProcessDatabase.Postgres("fault_term");
        using var run = new FaultScenario(output, "PostgreSQL connections of the host terminated 5 times", database);
        using (var load = run.StartLoad(FaultScale.Orders))
        {
            await run.WaitForAnsweredAsync(load, FaultScale.FaultAfter);
            for (var round = 1; round <= 5; round++)
            {
                await using (var killer = new NpgsqlConnection(database.ConnectionString + ";Pooling=false"))
                {
                    await killer.OpenAsync();
                    var terminated = await new NpgsqlCommand(
                        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                        killer).ExecuteScalarAsync();
                    run.Note($"round {round}: {terminated} backends terminated ({run.Logs.AnsweredSoFar} commands answered)");
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            Assert.False(load.HasExited, $"the load ended before the fault did: make it longer\n{load.Output}");
            await run.FinishLoadAsync(load);
        }

        await run.CheckAsync();
    }

    /// <summary>The local PostgreSQL cluster serving the test database (found with <c>pg_lsclusters</c> by its port).</summary>
    private sealed class PostgresCluster(string version, string name, int port)
    {
        public static PostgresCluster Find(string connectionString)
        {
            var port = new NpgsqlConnectionStringBuilder(connectionString).Port;
            var (exitCode, text) = Run("pg_lsclusters", "-h");
            Assert.True(exitCode == 0, $"pg_lsclusters failed: {text}");
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (columns.Length >= 3 && int.TryParse(columns[2], out var clusterPort) && clusterPort == port)
                {
                    return new PostgresCluster(columns[0], columns[1], port);
                }
            }

            throw new InvalidOperationException($"No local PostgreSQL cluster listens on port {port} (pg_lsclusters: {text}); this test stops and starts it.");
        }

        public void Stop()
        {
            var (exitCode, text) = Run("pg_ctlcluster", version, name, "stop", "-m", "immediate");
            Assert.True(exitCode == 0, $"pg_ctlcluster stop failed: {text}");
        }

        public void Start()
        {
            var (exitCode, text) = Run("pg_ctlcluster", version, name, "start", "--", "-o", "-c listen_addresses=127.0.0.1");
            Assert.True(exitCode == 0, $"pg_ctlcluster start failed: {text}");
        }

        /// <summary>Starts the cluster if it is down and waits until it accepts connections.</summary>
        public void EnsureUp()
        {
            for (var attempt = 0; attempt < 60; attempt++)
            {
                if (Run("pg_isready", "-q", "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode == 0)
                {
                    return;
                }

                if (attempt % 10 == 0)
                {
                    Run("pg_ctlcluster", version, name, "start", "--", "-o", "-c listen_addresses=127.0.0.1");
                }

                Thread.Sleep(500);
            }

            throw new InvalidOperationException($"PostgreSQL {this} is not ready after 30 s.");
        }

        public override string ToString() => $"{version}/{name}";

        /// <summary>
        /// Runs a PostgreSQL tool through a shell that first closes every descriptor above stderr: a server started here
        /// must not inherit the test runner's open files (e.g. the fd of a <c>flock</c> around <c>dotnet test</c>, which
        /// the server would then hold, and with it the lock, for as long as it runs).
        /// </summary>
        private static (int ExitCode, string Output) Run(string file, params string[] args)
        {
            var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ \"$n\" -gt 2 ] 2>/dev/null; then eval \"exec $n>&-\" 2>/dev/null; fi; done; exec \"$0\" \"$@\"");
            start.ArgumentList.Add(file);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
