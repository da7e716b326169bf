using ActorEvents.Actors.Persistence;

namespace ActorEvents.Tests.Persistence;

/// <summary>Group commit of <see cref="JournalWriteQueue"/>, against a scripted writer (no database, no timers).</summary>
public sealed class JournalWriteQueueTests
{
    [Fact]
    public async Task Should_commit_everything_queued_during_a_commit_in_the_next_single_transaction()
    {
        var writer = new ScriptedWriter();
        await using var queue = new JournalWriteQueue(writer, concurrentTransactions: 1, capacity: 100, maxRowsPerTransaction: 1000, (_, _) => { });

        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the writer holds [a] and waits for the disk
        var queued = Enumerable.Range(0, 5).Select(i => queue.EnqueueAsync(Write($"b{i}", 2))).ToArray();
        writer.Gate.SetResult();
        await Task.WhenAll(queued.Append(first)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([["a"], ["b0", "b1", "b2", "b3", "b4"]], writer.Committed);
        Assert.Equal(new JournalWriteStats(Transactions: 2, Writes: 6, Rows: 11, FailedTransactions: 0, FailedWrites: 0), queue.Stats);
    }

    [Fact]
    public async Task Should_fail_only_the_faulty_write_of_a_failed_transaction_and_commit_the_others()
    {
        var writer = new ScriptedWriter { Fails = write => write.Rows[0].PersistenceId == "zombie" };
        var reported = new List<int>();
        await using var queue = new JournalWriteQueue(writer, concurrentTransactions: 1, capacity: 100, maxRowsPerTransaction: 1000, (_, count) => reported.Add(count));

        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var before = queue.EnqueueAsync(Write("b", 2));
        var zombie = queue.EnqueueAsync(Write("zombie", 2));
        var after = queue.EnqueueAsync(Write("c", 2));
        writer.Gate.SetResult();

        await Task.WhenAll(first, before, after).WaitAsync(TimeSpan.FromSeconds(10));
        var error = await Assert.ThrowsAsync<JournalWriteRolledBackException>(() => zombie);
        Assert.Contains("zombie", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal([["a"], ["b"], ["c"]], writer.Committed);
        Assert.Equal([3], reported);
        Assert.Equal(new JournalWriteStats(Transactions: 3, Writes: 3, Rows: 5, FailedTransactions: 2, FailedWrites: 1), queue.Stats);
    }

    [Fact]
    public async Task Should_stop_filling_a_transaction_at_the_row_limit_without_ever_splitting_a_write()
    {
        var writer = new ScriptedWriter();
        await using var queue = new JournalWriteQueue(writer, concurrentTransactions: 1, capacity: 100, maxRowsPerTransaction: 5, (_, _) => { });

        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var queued = new[] { Write("b", 3), Write("c", 3), Write("d", 7), Write("e", 1) }.Select(queue.EnqueueAsync).ToArray();
        writer.Gate.SetResult();
        await Task.WhenAll(queued.Append(first)).WaitAsync(TimeSpan.FromSeconds(10));

        // b + c reach the limit (6 ≥ 5); d alone exceeds it but goes whole; e follows.
        Assert.Equal([["a"], ["b", "c"], ["d"], ["e"]], writer.Committed);
        Assert.Equal([1, 6, 7, 1], writer.RowCounts);
    }

    [Fact]
    public async Task Should_refuse_a_write_at_once_when_the_queue_is_full_and_still_commit_the_queued_ones()
    {
        var writer = new ScriptedWriter();
        await using var queue = new JournalWriteQueue(writer, concurrentTransactions: 1, capacity: 2, maxRowsPerTransaction: 1000, (_, _) => { });

        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var queued = new[] { queue.EnqueueAsync(Write("b", 1)), queue.EnqueueAsync(Write("c", 1)) };
        var overflow = queue.EnqueueAsync(Write("d", 1));

        var error = await Assert.ThrowsAsync<JournalOverloadedException>(() => overflow);
        Assert.Contains("full", error.Message);
        writer.Gate.SetResult();
        await Task.WhenAll(queued.Append(first)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([["a"], ["b", "c"]], writer.Committed);
    }

    [Fact]
    public async Task Should_take_a_write_out_of_the_queue_and_never_write_it_when_its_deadline_passes_before_its_transaction()
    {
        var time = new ManualTime();
        var writer = new ScriptedWriter();
        await using var queue = new JournalWriteQueue(writer, 1, 100, 1000, (_, _) => { }, new JournalWriteTimeouts(TimeSpan.FromSeconds(5), TimeSpan.Zero), time);

        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10)); // [a] is in its transaction, b waits in the queue
        var late = queue.EnqueueAsync(Write("b", 1));
        time.Advance(TimeSpan.FromSeconds(6));
        var fresh = queue.EnqueueAsync(Write("c", 1));
        writer.Gate.SetResult();

        await first.WaitAsync(TimeSpan.FromSeconds(10));
        var expired = await Assert.ThrowsAsync<JournalWriteExpiredException>(() => late.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("write-timeout", expired.Message);
        Assert.IsAssignableFrom<JournalWriteNotWrittenException>(expired);
        await fresh.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([["a"], ["c"]], writer.Committed); // b was never handed to the database
    }

    [Fact]
    public async Task Should_fail_the_overdue_writes_and_carry_the_others_into_the_next_transaction_when_the_lock_wait_runs_out()
    {
        var time = new ManualTime();
        var busy = 0;
        var writer = new ScriptedWriter
        {
            Begin = (_, deadline) =>
            {
                if (Interlocked.Increment(ref busy) != 2)
                {
                    return;
                }

                time.Now = deadline; // another connection holds the write lock until the batch's earliest deadline
                throw new JournalWriteExpiredException("another connection held the database's write lock");
            },
        };
        await using var queue = new JournalWriteQueue(writer, 1, 100, 1000, (_, _) => { }, new JournalWriteTimeouts(TimeSpan.FromSeconds(5), TimeSpan.Zero), time);
        var first = queue.EnqueueAsync(Write("a", 1));
        await writer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10)); // old and young queue up behind [a]
        var old = queue.EnqueueAsync(Write("old", 1));
        time.Advance(TimeSpan.FromSeconds(3));
        var young = queue.EnqueueAsync(Write("young", 1));
        writer.Gate.SetResult();

        await first.WaitAsync(TimeSpan.FromSeconds(10));
        var expired = await Assert.ThrowsAsync<JournalWriteExpiredException>(() => old.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("write lock", expired.Message);
        await young.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([["a"], ["young"]], writer.Committed); // [old, young] could not begin; young went in the next transaction
    }

    [Fact]
    public async Task Should_acknowledge_an_uncertain_commit_that_is_read_back_as_written()
    {
        var writer = new ScriptedWriter { Uncertain = _ => true, ReadBack = () => true };
        await using var queue = new JournalWriteQueue(writer, 1, 100, 1000, (_, _) => { });
        writer.Gate.SetResult();

        await queue.EnqueueAsync(Write("a", 2)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, queue.Stats.Transactions);
    }

    [Fact]
    public async Task Should_fail_an_uncertain_commit_read_back_as_absent_as_not_written()
    {
        var writer = new ScriptedWriter { Uncertain = _ => true, ReadBack = () => false };
        await using var queue = new JournalWriteQueue(writer, 1, 100, 1000, (_, _) => { });
        writer.Gate.SetResult();

        var error = await Assert.ThrowsAsync<JournalWriteRolledBackException>(() => queue.EnqueueAsync(Write("a", 2)).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("connection reset", error.Message);
    }

    [Fact]
    public async Task Should_report_outcome_unknown_when_an_uncertain_commit_cannot_be_read_back_in_time()
    {
        var time = new ManualTime();
        var writer = new ScriptedWriter
        {
            Uncertain = _ => true,
            ReadBack = () =>
            {
                time.Advance(TimeSpan.FromSeconds(4)); // the database is still unreachable
                throw new InvalidOperationException("connection refused");
            },
        };
        await using var queue = new JournalWriteQueue(writer, 1, 100, 1000, (_, _) => { }, new JournalWriteTimeouts(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)), time);
        writer.Gate.SetResult();

        var error = await Assert.ThrowsAsync<JournalWriteOutcomeUnknownException>(() => queue.EnqueueAsync(Write("a", 1)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("may or may not", error.Message);
        Assert.IsNotAssignableFrom<JournalWriteNotWrittenException>(error);
    }

    private static JournalWrite Write(string persistenceId, int events) =>
        new([.. Enumerable.Range(1, events).Select(seq => new PendingJournalRow(0, persistenceId, seq, [], "m", 1, []))]);

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;

        public void Advance(TimeSpan by) => Now += by;
    }

    /// <summary>Records committed batches; its first transaction waits for <see cref="Gate"/>.</summary>
    private sealed class ScriptedWriter : IJournalRowWriter
    {
        private int _calls;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Func<JournalWrite, bool> Fails { get; init; } = _ => false;

        public List<string[]> Committed { get; } = [];

        public List<int> RowCounts { get; } = [];

        /// <summary>Runs first in every transaction (e.g. throws as if the write lock could not be taken).</summary>
        public Action<IReadOnlyList<JournalWrite>, DateTimeOffset> Begin { get; init; } = (_, _) => { };

        /// <summary>Batches whose commit ends uncertain (the connection dropped around it).</summary>
        public Func<IReadOnlyList<JournalWrite>, bool> Uncertain { get; init; } = _ => false;

        /// <summary>What reading an uncertain commit back finds.</summary>
        public Func<bool> ReadBack { get; init; } = () => throw new InvalidOperationException("unreadable");

        public async Task<long> InsertAsync(IReadOnlyList<JournalWrite> writes, DateTimeOffset deadline, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.SetResult();
                await Gate.Task;
            }

            Begin(writes, deadline);
            if (Uncertain(writes))
            {
                throw new JournalCommitUncertainException(new IOException("connection reset"), _ => Task.FromResult(ReadBack()));
            }

            if (writes.FirstOrDefault(Fails) is { } faulty)
            {
                throw new InvalidOperationException($"duplicate key for {faulty.Rows[0].PersistenceId}");
            }

            Committed.Add([.. writes.Select(w => w.Rows[0].PersistenceId)]);
            RowCounts.Add(writes.Sum(w => w.Rows.Count));
            return RowCounts.Sum();
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
