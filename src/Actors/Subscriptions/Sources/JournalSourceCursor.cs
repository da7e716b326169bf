using Akka.Persistence.Query;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>
/// Where one live stream of a <see cref="GapSafeJournalSource"/> is, and when it may read the journal next. The first
/// read is at once (a subscription catching up does not wait); after that, with the node's shared
/// <see cref="JournalHeadWatch"/>:
/// <list type="bullet">
/// <item>a read that found events is followed by the next one as long as the head is beyond the position (a backlog);</item>
/// <item>at or past the head the stream waits, without a query, until the watch publishes a head beyond its position;</item>
/// <item>a read that found nothing although the head is beyond the position met an open gap (a write still in flight):
/// the next read waits for the poll interval, or less if a local commit is published meanwhile (it may fill the gap),
/// so the <see cref="GapTracker"/> sees the gap age exactly as before.</item>
/// </list>
/// Without the shared watch (<see cref="JournalHeadWatch.Shared"/> off) it reads as every stream did before: after a
/// read that found nothing, once the poll interval has passed.
/// </summary>
internal sealed class JournalSourceCursor : IDisposable
{
    private readonly JournalHeadWatch _watch;
    private readonly TimeSpan _pollInterval;
    private readonly bool _shared;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _hasRead;
    private bool _foundNothing;
    private int _disposed;

    internal JournalSourceCursor(JournalHeadWatch watch, long position, TimeSpan pollInterval, bool shared)
    {
        _watch = watch;
        Position = position;
        _pollInterval = pollInterval;
        _shared = shared;
    }

    /// <summary>The stream's position: the ordering it has handed out everything up to.</summary>
    public long Position { get; private set; }

    /// <summary>Waits until the journal may hold something new for the stream; false once the stream stopped.</summary>
    public async Task<bool> WaitForNewOrderingsAsync()
    {
        if (!_hasRead)
        {
            return true;
        }

        if (!_shared)
        {
            if (_foundNothing)
            {
                await Task.WhenAny(Task.Delay(_pollInterval), _closed.Task).ConfigureAwait(false);
            }

            return !_closed.Task.IsCompleted;
        }

        var head = _watch.Current;
        if (_foundNothing && head.Head > Position)
        {
            await Task.WhenAny(head.Superseded, Task.Delay(_pollInterval), _closed.Task).ConfigureAwait(false);
            return !_closed.Task.IsCompleted;
        }

        while (head.Head <= Position)
        {
            await Task.WhenAny(head.Superseded, _closed.Task).ConfigureAwait(false);
            if (_closed.Task.IsCompleted)
            {
                return false;
            }

            head = _watch.Current;
        }

        return true;
    }

    /// <summary>Takes what a read returned: the position moves to its last element.</summary>
    public void Read(IReadOnlyList<EventEnvelope> page)
    {
        _watch.CountSourceRead();
        _hasRead = true;
        _foundNothing = page.Count == 0;
        if (!_foundNothing)
        {
            Position = ((Sequence)page[^1].Offset).Value;
        }
    }

    /// <summary>The stream stopped: a pending wait ends, and the watch no longer counts it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _closed.TrySetResult();
        if (_shared)
        {
            _watch.ReaderClosed();
        }
    }
}
