using System.Diagnostics;
using Akka.Persistence.Query;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>
/// Where one live stream of a <see cref="GapSafeJournalSource"/> is, and when it may read the journal next. The first
/// read is at once (a subscription catching up does not wait); after that, with the node's shared
/// <see cref="JournalHeadWatch"/>:
/// <list type="bullet">
/// <item>while the head is beyond what the last read reached (a backlog), the next read follows at once;</item>
/// <item>at the head the stream waits, without a query, until the watch publishes a head beyond its position; it then
/// reads at once after a quiet spell, and at most once per poll interval while events keep coming (so a steady trickle
/// of commits costs each subscription one read per interval, not one per commit);</item>
/// <item>a read that found nothing although the head is beyond the position met an open gap (a write still in flight):
/// the next read follows after the poll interval, as before, so the <see cref="GapTracker"/> sees the gap age as before.</item>
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
    private bool _caughtUpWithEvents;
    private long _headAtRead;
    private long _readAt;
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
        if (_hasRead)
        {
            var read = _shared
                ? await WaitForHeadAsync().ConfigureAwait(false)
                : !_foundNothing || await PauseAsync(_pollInterval).ConfigureAwait(false);
            if (!read)
            {
                return false;
            }
        }

        _headAtRead = _watch.Current.Head;
        _readAt = Stopwatch.GetTimestamp();
        return !_closed.Task.IsCompleted;
    }

    /// <summary>Takes what a read returned: the position moves to its last element.</summary>
    public void Read(IReadOnlyList<EventEnvelope> page)
    {
        _hasRead = true;
        _foundNothing = page.Count == 0;
        if (!_foundNothing)
        {
            Position = ((Sequence)page[^1].Offset).Value;
        }

        _caughtUpWithEvents = !_foundNothing && Position >= _headAtRead;
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

    private async Task<bool> WaitForHeadAsync()
    {
        var head = _watch.Current;
        if (head.Head > Position)
        {
            // Found nothing below a higher head: an open gap. Otherwise a backlog: read on at once.
            return !_foundNothing || await PauseAsync(_pollInterval).ConfigureAwait(false);
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

        // New events after a read that had caught up with events of its own: at most one read per poll interval.
        var sinceRead = Stopwatch.GetElapsedTime(_readAt);
        return !_caughtUpWithEvents || sinceRead >= _pollInterval || await PauseAsync(_pollInterval - sinceRead).ConfigureAwait(false);
    }

    /// <summary>Waits for <paramref name="delay"/>; false when the stream stopped meanwhile.</summary>
    private async Task<bool> PauseAsync(TimeSpan delay)
    {
        await Task.WhenAny(Task.Delay(delay), _closed.Task).ConfigureAwait(false);
        return !_closed.Task.IsCompleted;
    }
}
