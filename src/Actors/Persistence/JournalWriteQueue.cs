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

/// <summary>
/// Group commit: writes queue here from every persistent actor of the node; each writer loop takes everything queued
/// (up to <c>maxRowsPerTransaction</c>, never splitting a write) and commits it in one transaction, so while one commit
/// waits for the disk the next batch fills up. A batch that fails is retried write by write, each in its own
/// transaction, so one bad write (e.g. a sequence number already taken by another incarnation of its actor) fails
/// only its own actor. Nothing is acknowledged before its transaction committed.
/// </summary>
internal sealed class JournalWriteQueue : IAsyncDisposable
{
    private readonly Channel<JournalWrite> _queue;
    private readonly IJournalRowWriter _writer;
    private readonly Task[] _loops;
    private readonly int _maxRowsPerTransaction;
    private readonly Action<Exception, int> _onBatchFailure;
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
    public JournalWriteQueue(IJournalRowWriter writer, int concurrentTransactions, int capacity, int maxRowsPerTransaction, Action<Exception, int> onBatchFailure)
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
        _loops = [.. Enumerable.Range(0, concurrentTransactions).Select(_ => Task.Run(() => RunAsync(writer)))];
    }

    /// <summary>Queues a write; its <see cref="JournalWrite.Completion"/> tells when it is committed.</summary>
    public Task EnqueueAsync(JournalWrite write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            write.Failed(new InvalidOperationException(_queue.Reader.Completion.IsCompleted
                ? "The journal is stopping: the write was not queued."
                : "The journal's write queue is full (buffer-size): the write was not queued."));
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
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var rows = 0;
            while (rows < _maxRowsPerTransaction && reader.TryRead(out var write))
            {
                batch.Add(write);
                rows += write.Rows.Count;
            }

            if (batch.Count > 0)
            {
                await CommitAsync(writer, batch).ConfigureAwait(false);
            }
        }
    }

    private async Task CommitAsync(IJournalRowWriter writer, List<JournalWrite> batch)
    {
        try
        {
            await writer.InsertAsync(batch, CancellationToken.None).ConfigureAwait(false);
            Committed(batch);
            return;
        }
        catch (Exception error) when (batch.Count > 1)
        {
            Interlocked.Increment(ref _failedTransactions);
            _onBatchFailure(error, batch.Count);
        }
        catch (Exception error)
        {
            Interlocked.Increment(ref _failedTransactions);
            Interlocked.Increment(ref _failedWrites);
            batch[0].Failed(error);
            return;
        }

        // The batch rolled back as a whole: retry each write alone, so only the faulty ones fail.
        foreach (var write in batch)
        {
            try
            {
                await writer.InsertAsync([write], CancellationToken.None).ConfigureAwait(false);
                Committed([write]);
            }
            catch (Exception error)
            {
                Interlocked.Increment(ref _failedWrites);
                write.Failed(error);
            }
        }
    }

    private void Committed(IReadOnlyList<JournalWrite> writes)
    {
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _writes, writes.Count);
        Interlocked.Add(ref _rows, writes.Sum(w => w.Rows.Count));
        foreach (var write in writes)
        {
            write.Committed();
        }
    }
}
