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
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => zombie);
        Assert.Contains("zombie", error.Message);
        Assert.Equal([["a"], ["b"], ["c"]], writer.Committed);
        Assert.Equal([3], reported);
        Assert.Equal(new JournalWriteStats(Transactions: 3, Writes: 3, Rows: 5, FailedTransactions: 1, FailedWrites: 1), queue.Stats);
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

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => overflow);
        Assert.Contains("full", error.Message);
        writer.Gate.SetResult();
        await Task.WhenAll(queued.Append(first)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([["a"], ["b", "c"]], writer.Committed);
    }

    private static JournalWrite Write(string persistenceId, int events) =>
        new([.. Enumerable.Range(1, events).Select(seq => new PendingJournalRow(0, persistenceId, seq, [], "m", 1, []))]);

    /// <summary>Records committed batches; its first transaction waits for <see cref="Gate"/>.</summary>
    private sealed class ScriptedWriter : IJournalRowWriter
    {
        private int _calls;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Func<JournalWrite, bool> Fails { get; init; } = _ => false;

        public List<string[]> Committed { get; } = [];

        public List<int> RowCounts { get; } = [];

        public async Task InsertAsync(IReadOnlyList<JournalWrite> writes, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.SetResult();
                await Gate.Task;
            }

            if (writes.FirstOrDefault(Fails) is { } faulty)
            {
                throw new InvalidOperationException($"duplicate key for {faulty.Rows[0].PersistenceId}");
            }

            Committed.Add([.. writes.Select(w => w.Rows[0].PersistenceId)]);
            RowCounts.Add(writes.Sum(w => w.Rows.Count));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
