using ActorEvents.Actors.Configuration;
using Npgsql;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Host.Tests.Faults;

/// <summary>The journal rows of the held transaction: their orderings are taken, they are not committed.</summary>
/// <param name="From">The lowest ordering of the held statement.</param>
/// <param name="To">The highest.</param>
/// <param name="Rows">How many rows it inserted (orderings of other transactions may lie between <paramref name="From"/> and <paramref name="To"/>).</param>
/// <param name="Backend">The PostgreSQL backend that runs it (waiting for the test's advisory lock).</param>
/// <param name="Writer">The <c>writer_uuid</c> of its rows: which node's journal wrote it.</param>
public sealed record HeldRows(long From, long To, int Rows, int Backend, string Writer)
{
    /// <inheritdoc />
    public override string ToString() => $"orderings {From}–{To} ({Rows} rows, backend {Backend}, writer {Writer})";
}

/// <summary>
/// Holds exactly one journal transaction of the host open on PostgreSQL, deterministically: an <c>AFTER INSERT … FOR EACH
/// STATEMENT</c> trigger on <c>journal</c>, once armed, takes the first statement (one group-commit batch) that writes only
/// order streams and holds an <c>order.shipped</c> event (its tag rows are in the same statement) and makes it wait for an
/// advisory lock the test holds. Every row of that statement has its ordering by then; later statements (the other writer
/// loops, the other node) pass the trigger and commit. A one-shot claim (a sequence: not transactional, never blocks) makes
/// sure only one statement is held; the held orderings are published through sequences, which other sessions see at once.
/// On release the statement either commits (a late commit) or raises (a rolled-back write: its orderings become permanent gaps).
/// </summary>
public sealed class HeldJournalTransaction : IAsyncDisposable
{
    /// <summary>The advisory lock key ("GapTest1" as a bigint).</summary>
    private const string LockKey = "5143515757215446065";

    private const string Ddl = $"""
        CREATE TABLE gap_test_control (armed boolean NOT NULL, roll_back boolean NOT NULL);
        INSERT INTO gap_test_control VALUES (false, false);
        CREATE SEQUENCE gap_test_claim;
        CREATE SEQUENCE gap_test_held_from;
        CREATE SEQUENCE gap_test_held_to;
        CREATE SEQUENCE gap_test_held_rows;
        CREATE FUNCTION gap_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT armed FROM gap_test_control) THEN
            IF NOT EXISTS (SELECT 1 FROM new_rows WHERE persistence_id NOT LIKE 'order-%')
               AND EXISTS (SELECT 1 FROM new_rows n JOIN tags t ON t.ordering_id = n.ordering WHERE t.tag = 'event:order.shipped') THEN
              IF nextval('gap_test_claim') = 1 THEN
                PERFORM setval('gap_test_held_from', (SELECT min(ordering) FROM new_rows));
                PERFORM setval('gap_test_held_to', (SELECT max(ordering) FROM new_rows));
                PERFORM setval('gap_test_held_rows', (SELECT count(*) FROM new_rows));
                -- Which node wrote it, visible at once in pg_stat_activity (reset when the transaction ends).
                PERFORM set_config('application_name', 'gap-test ' || (SELECT min(writer_uuid) FROM new_rows), true);
                PERFORM pg_advisory_xact_lock_shared({LockKey});
                -- A fresh snapshot per statement: the test decides after the lock is released.
                IF (SELECT roll_back FROM gap_test_control) THEN
                  RAISE EXCEPTION 'gap test: the held journal transaction rolls back';
                END IF;
              END IF;
            END IF;
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER gap_test_hold AFTER INSERT ON journal REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION gap_test_hold();
        """;

    private const string WaitsForTheLock = "wait_event_type = 'Lock' AND wait_event = 'advisory'";

    private readonly ProcessDatabase _database;
    private readonly NpgsqlConnection _locker;

    private HeldJournalTransaction(ProcessDatabase database, NpgsqlConnection locker)
    {
        _database = database;
        _locker = locker;
    }

    /// <summary>
    /// Creates the host's schema (as a node would, up front), installs the trigger (disarmed) and takes the advisory lock
    /// the held statement will wait for.
    /// </summary>
    public static async Task<HeldJournalTransaction> InstallAsync(ProcessDatabase database)
    {
        await DatabaseSchema.EnsureCreatedAsync(new PersistenceOptions { Provider = PersistenceProviders.PostgreSql, ConnectionString = database.ConnectionString });
        var locker = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
        await locker.OpenAsync();
        await new NpgsqlCommand(Ddl, locker).ExecuteNonQueryAsync();
        await new NpgsqlCommand($"SELECT pg_advisory_lock({LockKey})", locker).ExecuteNonQueryAsync();
        return new HeldJournalTransaction(database, locker);
    }

    /// <summary>From now on, the next statement that qualifies is held.</summary>
    public Task ArmAsync() => new NpgsqlCommand("UPDATE gap_test_control SET armed = true", _locker).ExecuteNonQueryAsync();

    /// <summary>Waits until a statement is held (its backend waits for the lock); fails when <paramref name="load"/> ends first or the time is up.</summary>
    public async Task<HeldRows> WaitUntilHeldAsync(HostProcess load, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_database.Scalar("SELECT CASE WHEN is_called THEN 1 ELSE 0 END FROM gap_test_held_rows") == 1)
            {
                var waiting = _database.Rows(
                    $"SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'gap-test %' AND {WaitsForTheLock}",
                    r => (Pid: r.GetInt32(0), Writer: r.GetString(1)["gap-test ".Length..]));
                if (waiting.Count == 1)
                {
                    return new HeldRows(
                        _database.Scalar("SELECT last_value FROM gap_test_held_from"), _database.Scalar("SELECT last_value FROM gap_test_held_to"),
                        (int)_database.Scalar("SELECT last_value FROM gap_test_held_rows"), waiting[0].Pid, waiting[0].Writer);
                }
            }

            if (load.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No journal statement was held ({(load.HasExited ? "the load ended" : "time is up")}):\n{load.Output}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Releases the held statement: it commits, or with <paramref name="rollBack"/> it raises and rolls back.</summary>
    public async Task ReleaseAsync(bool rollBack)
    {
        if (rollBack)
        {
            await new NpgsqlCommand("UPDATE gap_test_control SET roll_back = true", _locker).ExecuteNonQueryAsync();
        }

        await new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", _locker).ExecuteNonQueryAsync();
    }

    /// <summary>Whether the held statement's backend still runs it (waiting for the lock).</summary>
    public bool IsWaiting(HeldRows held) =>
        _database.Scalar($"SELECT COUNT(*) FROM pg_stat_activity WHERE pid = {held.Backend} AND {WaitsForTheLock}") > 0;

    /// <summary>Closes the lock connection (which releases the lock if the test did not).</summary>
    public ValueTask DisposeAsync() => _locker.DisposeAsync();
}
