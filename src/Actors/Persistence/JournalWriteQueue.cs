using System.Threading.Channels;

namespace ActorEvents.Actors.Persistence;

/// <summary>
/// The rows of one <c>WriteMessages</c> request of one persistent actor (one or more <c>AtomicWrite</c>s): written
/// all or nothing, in the same transaction as other actors' writes queued at the same time.
/// </summary>
internal sealed class JournalWrite(IReadOnlyList<PendingJournalRow> rows)
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The rows, in sequence order.</summary>
    public IReadOnlyList<PendingJournalRow> Rows { get; } = rows;

    /// <summary>When the write must have begun its transaction; after it, it is failed as not written (set when queued).</summary>
    public DateTimeOffset Deadline { get; internal set; } = DateTimeOffset.MaxValue;

    /// <summary>Completes when the rows are committed; faults when they are not.</summary>
    public Task Completion => _completion.Task;

    internal void Committed() => _completion.TrySetResult();

    internal void Failed(Exception error) => _completion.TrySetException(error);
}

/// <summary>Counters of a <see cref="JournalWriteQueue"/>, for tests and the bench.</summary>
/// <param name="Transactions">Committed transactions.</param>
/// <param name="Writes">Committed writes (persistent actors' requests).</param>
/// <param name="Rows">Committed events.</param>
/// <param name="FailedTransactions">Transactions that failed (their writes were then retried one by one).</param>
/// <param name="FailedWrites">Writes that failed on their own.</param>
public sealed record JournalWriteStats(long Transactions, long Writes, long Rows, long FailedTransactions, long FailedWrites)
{
    /// <summary>Mean events per committed transaction.</summary>
    public double RowsPerTransaction => Transactions == 0 ? 0 : (double)Rows / Transactions;
}

/// <summary>How long a journal write may take before its outcome is reported.</summary>
/// <param name="WriteTimeout">
/// A write that has not begun its transaction this long after it was queued (waiting in the queue, or for the
/// database's write lock) is taken out and failed with <see cref="JournalWriteExpiredException"/>: it is never written.
/// </param>
/// <param name="CommitResolutionTimeout">
/// After a commit whose outcome is uncertain (connection lost around it), how long the outcome is read back before the
/// write is failed with <see cref="JournalWriteOutcomeUnknownException"/>.
/// </param>
internal sealed record JournalWriteTimeouts(TimeSpan WriteTimeout, TimeSpan CommitResolutionTimeout)
{
    /// <summary>Slack for a statement's own timeout granularity (SQLite's busy wait and Npgsql's command timeout count whole seconds).</summary>
    public static readonly TimeSpan StatementSlack = TimeSpan.FromSeconds(2);

    /// <summary>The defaults: 5 s to begin, 10 s to read an uncertain commit back.</summary>
    public static JournalWriteTimeouts Default { get; } = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));

    /// <summary>The longest time from queueing a write to a definite outcome (or an unknown one).</summary>
    public TimeSpan LongestOutcome => WriteTimeout + StatementSlack + CommitResolutionTimeout;
}

/// <summary>
/// Group commit: writes queue here from every persistent actor of the node; each writer loop takes everything queued
/// (up to <c>maxRowsPerTransaction</c>, never splitting a write) and commits it in one transaction, so while one commit
/// waits for the disk the next batch fills up. A batch that fails is retried write by write, each in its own
/// transaction, so one bad write (e.g. a sequence number already taken by another incarnation of its actor) fails
/// only its own actor. Nothing is acknowledged before its transaction committed, and every failure says whether the
/// write is certainly not in the journal (<see cref="JournalWriteNotWrittenException"/>) or may be
/// (<see cref="JournalWriteOutcomeUnknownException"/>): a write that has not begun its transaction by its deadline is
/// taken out of the queue, and a commit whose outcome is uncertain is read back before it is reported.
/// </summary>
internal sealed class JournalWriteQueue : IAsyncDisposable
{
    private readonly Channel<JournalWrite> _queue;
    private readonly IJournalRowWriter _writer;
    private readonly Task[] _loops;
    private readonly int _maxRowsPerTransaction;
    private readonly Action<Exception, int> _onBatchFailure;
    private readonly Action<long?> _onCommitted;
    private readonly JournalWriteTimeouts _timeouts;
    private readonly TimeProvider _time;
    private long _transactions;
    private long _writes;
    private long _rows;
    private long _failedTransactions;
    private long _failedWrites;

    /// <param name="writer">Writes a batch in one transaction; with <paramref name="concurrentTransactions"/> above 1 it must take concurrent calls.</param>
    /// <param name="concurrentTransactions">Writer loops, i.e. transactions in flight at once (1 for SQLite, which has a single writer anyway).</param>
    /// <param name="capacity">Queued writes beyond which new writes fail at once (the plugin's <c>buffer-size</c>).</param>
    /// <param name="maxRowsPerTransaction">Rows per transaction (the plugin's <c>batch-size</c>); a larger single write still goes whole.</param>
    /// <param name="onBatchFailure">Told about a failed batch (error, writes in it) before its writes are retried one by one.</param>
    /// <param name="timeouts">Deadlines of a write (null: <see cref="JournalWriteTimeouts.Default"/>).</param>
    /// <param name="time">The clock of the deadlines (null: the system clock).</param>
    /// <param name="onCommitted">
    /// Told about each committed transaction, before its writes are acknowledged: the highest ordering it took, or null
    /// when that is not known (an uncertain commit read back as written). Called on a writer loop; it must not block.
    /// </param>
    public JournalWriteQueue(IJournalRowWriter writer, int concurrentTransactions, int capacity, int maxRowsPerTransaction, Action<Exception, int> onBatchFailure,
        JournalWriteTimeouts? timeouts = null, TimeProvider? time = null, Action<long?>? onCommitted = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrentTransactions, 1);
        _queue = Channel.CreateBounded<JournalWrite>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            SingleReader = concurrentTransactions == 1,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = writer;
        _maxRowsPerTransaction = Math.Max(1, maxRowsPerTransaction);
        _onBatchFailure = onBatchFailure;
        _onCommitted = onCommitted ?? (_ => { });
        _timeouts = timeouts ?? JournalWriteTimeouts.Default;
        _time = time ?? TimeProvider.System;
        _loops = [.. Enumerable.Range(0, concurrentTransactions).Select(_ => Task.Run(() => RunAsync(writer)))];
    }

    /// <summary>Queues a write; its <see cref="JournalWrite.Completion"/> tells when it is committed.</summary>
    public Task EnqueueAsync(JournalWrite write)
    {
        write.Deadline = _time.GetUtcNow() + _timeouts.WriteTimeout;
        if (!_queue.Writer.TryWrite(write))
        {
            Interlocked.Increment(ref _failedWrites);
            write.Failed(_queue.Reader.Completion.IsCompleted
                ? new JournalWriteExpiredException("The journal is stopping: the write was not queued and is not written.")
                : new JournalOverloadedException("The journal's write queue is full (buffer-size): the write was not queued and is not written."));
        }

        return write.Completion;
    }

    /// <summary>What was committed so far.</summary>
    public JournalWriteStats Stats => new(
        Interlocked.Read(ref _transactions), Interlocked.Read(ref _writes), Interlocked.Read(ref _rows),
        Interlocked.Read(ref _failedTransactions), Interlocked.Read(ref _failedWrites));

    /// <summary>Stops taking writes, lets the writer loops commit what is queued, then closes the writer's connections.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunAsync(IJournalRowWriter writer)
    {
        var batch = new List<JournalWrite>();
        var carried = new List<JournalWrite>();
        var reader = _queue.Reader;
        while (carried.Count > 0 || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Writes carried over from a transaction that could not begin in time go first: they are the oldest.
            batch.Clear();
            batch.AddRange(carried);
            carried.Clear();
            var rows = batch.Sum(w => w.Rows.Count);
            while (rows < _maxRowsPerTransaction && reader.TryRead(out var write))
            {
                batch.Add(write);
                rows += write.Rows.Count;
            }

            ExpireOverdue(batch, cause: null);
            if (batch.Count > 0)
            {
                await CommitAsync(writer, batch, carried).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Fails and removes the writes whose deadline passed: they are never written.</summary>
    private void ExpireOverdue(List<JournalWrite> batch, Exception? cause)
    {
        var now = _time.GetUtcNow();
        batch.RemoveAll(write =>
        {
            if (write.Deadline > now)
            {
                return false;
            }

            Interlocked.Increment(ref _failedWrites);
            write.Failed(new JournalWriteExpiredException(
                $"The write did not begin its transaction within the journal's write-timeout of {_timeouts.WriteTimeout.TotalSeconds:0.###}s "
                + (cause is null ? "(it waited in the write queue)" : $"({cause.Message})") + ": it was taken out of the queue and is not written.", cause));
            return true;
        });
    }

    private async Task CommitAsync(IJournalRowWriter writer, List<JournalWrite> batch, List<JournalWrite> carried)
    {
        Exception error;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var highest = await writer.InsertAsync(batch, batch.Min(w => w.Deadline), CancellationToken.None).ConfigureAwait(false);
            Telemetry.ActorEventsTelemetry.JournalWriteSeconds.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            Telemetry.ActorEventsTelemetry.JournalTransactionEventCount.Record(batch.Sum(w => w.Rows.Count));
            Committed(batch, highest);
            return;
        }
        catch (JournalWriteExpiredException expired)
        {
            // The transaction could not begin by the earliest deadline (a held write lock): nothing was written. The
            // writes whose time is up fail; the others try again in the next transaction.
            Interlocked.Increment(ref _failedTransactions);
            var overdue = batch.Count;
            ExpireOverdue(batch, expired);
            if (overdue == batch.Count)
            {
                // The writer gave up before any deadline: fail the oldest so the loop always moves on.
                var oldest = batch.MinBy(w => w.Deadline)!;
                batch.Remove(oldest);
                Interlocked.Increment(ref _failedWrites);
                oldest.Failed(expired);
            }

            carried.AddRange(batch);
            return;
        }
        catch (JournalCommitUncertainException uncertain)
        {
            Interlocked.Increment(ref _failedTransactions);
            switch (await ResolveAsync(uncertain).ConfigureAwait(false))
            {
                case true:
                    Committed(batch, highestOrdering: null);
                    return;
                case null:
                    foreach (var write in batch)
                    {
                        Interlocked.Increment(ref _failedWrites);
                        write.Failed(new JournalWriteOutcomeUnknownException(
                            $"The journal lost its connection around the commit and could not read the outcome back within {_timeouts.CommitResolutionTimeout.TotalSeconds:0.###}s: the events may or may not be written ({uncertain.InnerException?.Message}).",
                            uncertain.InnerException));
                    }

                    return;
                case false:
                    error = uncertain.InnerException ?? uncertain;
                    break;
            }
        }
        catch (Exception failed)
        {
            Interlocked.Increment(ref _failedTransactions);
            error = failed;
        }

        if (batch.Count == 1)
        {
            Interlocked.Increment(ref _failedWrites);
            batch[0].Failed(error as JournalWriteNotWrittenException
                ?? new JournalWriteRolledBackException($"The journal's transaction failed and rolled back: nothing was written ({error.Message}).", error));
            return;
        }

        // The batch rolled back as a whole: retry each write alone, so only the faulty ones fail.
        _onBatchFailure(error, batch.Count);
        foreach (var write in batch.ToArray())
        {
            var single = new List<JournalWrite> { write };
            ExpireOverdue(single, error);
            if (single.Count == 1)
            {
                await CommitAsync(writer, single, carried).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads an uncertain commit back until it is known or the resolution timeout passed (null: still unknown).</summary>
    private async Task<bool?> ResolveAsync(JournalCommitUncertainException uncertain)
    {
        var giveUp = _time.GetUtcNow() + _timeouts.CommitResolutionTimeout;
        while (true)
        {
            try
            {
                return await uncertain.Resolve(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception) when (_time.GetUtcNow() < giveUp)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return null;
            }
        }
    }

    private void Committed(List<JournalWrite> writes, long? highestOrdering)
    {
        _onCommitted(highestOrdering);
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _writes, writes.Count);
        Interlocked.Add(ref _rows, writes.Sum(w => w.Rows.Count));
        foreach (var write in writes)
        {
            write.Committed();
        }
    }
}
