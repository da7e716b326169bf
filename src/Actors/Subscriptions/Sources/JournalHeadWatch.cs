using ActorEvents.Actors.Persistence;
using Akka.Actor;
using Akka.Event;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>
/// The journal's head as this node knows it: the highest ordering seen committed. Immutable; <see cref="Superseded"/>
/// completes once a newer snapshot is published (the head moved).
/// </summary>
internal sealed class JournalHeadSnapshot(long head)
{
    private readonly TaskCompletionSource _superseded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The highest ordering seen committed (0 before the first look).</summary>
    public long Head { get; } = head;

    /// <summary>Completes when a newer snapshot replaces this one.</summary>
    public Task Superseded => _superseded.Task;

    internal void Supersede() => _superseded.TrySetResult();
}

/// <summary>
/// One watch of the journal's head per actor system, shared by every subscription of the node (issue 11, point 7: with
/// tens of subscriptions each polling the journal on its own, an idle node kept the database busy). Its
/// <see cref="JournalHeadPoller"/> actor owns the head: while at least one subscription stream is open it reads
/// <c>MAX(ordering)</c> once per <c>Subscriptions:SourcePollInterval</c> (other nodes' writes), and the node's
/// group-commit journal writer reports each commit with the highest ordering it took (local writes, seen at once and
/// without a query). The actor publishes each head as an immutable <see cref="JournalHeadSnapshot"/>; the streams read
/// the latest one (<see cref="Current"/>, a volatile reference: nothing else is shared) and wait on its
/// <see cref="JournalHeadSnapshot.Superseded"/> task, so an idle subscription does not query the journal at all until
/// the head moves past its position.
/// </summary>
internal sealed class JournalHeadWatch : IExtension
{
    private readonly IActorRef _poller;
    private JournalHeadSnapshot _current = new(0);
    private volatile bool _shared = true;
    private long _headQueries;
    private long _sourceReads;
    private long _commitNotices;

    /// <summary>Created once per actor system by <see cref="JournalHeadWatchProvider"/>.</summary>
    public JournalHeadWatch(ExtendedActorSystem system)
    {
        _poller = system.SystemActorOf(Akka.Actor.Props.Create(() => new JournalHeadPoller(this)), "actor-events-journal-head");
        Tails = system.SystemActorOf(Akka.Actor.Props.Create(() => new SourceTails()), "actor-events-source-tails");
    }

    /// <summary>The node's tails of its sources (<see cref="SourceTails"/>), which serve the caught-up streams.</summary>
    public IActorRef Tails { get; }

    /// <summary>The watch of <paramref name="system"/>.</summary>
    public static JournalHeadWatch Get(ActorSystem system) => system.WithExtension<JournalHeadWatch, JournalHeadWatchProvider>();

    /// <summary>The head last published.</summary>
    public JournalHeadSnapshot Current => Volatile.Read(ref _current);

    /// <summary>
    /// Whether new streams wait on this watch (the default) or poll the journal each on its own every poll interval
    /// (<c>Subscriptions:SharedJournalHead = false</c>: the behaviour before the watch, kept for comparison).
    /// </summary>
    public bool Shared => _shared;

    /// <summary>What was read so far.</summary>
    public JournalReadStats Stats => new(Interlocked.Read(ref _headQueries), Interlocked.Read(ref _sourceReads), Interlocked.Read(ref _commitNotices));

    /// <summary>Sets <see cref="Shared"/> (the hosting does, before the node's subscriptions start).</summary>
    public void Configure(bool shared) => _shared = shared;

    /// <summary>A cursor for one live stream of a source from <paramref name="position"/>; dispose it when the stream stops.</summary>
    public JournalSourceCursor OpenCursor(ActorEventsDatabase database, long position, TimeSpan pollInterval)
    {
        var shared = Shared;
        if (shared)
        {
            _poller.Tell(new JournalHeadPoller.ReaderOpened(database, pollInterval));
        }

        return new JournalSourceCursor(this, position, pollInterval, shared);
    }

    /// <summary>Counts a commit notice of the journal writer (<see cref="JournalCommitted"/>).</summary>
    internal void CountCommitNotice() => Interlocked.Increment(ref _commitNotices);

    internal void ReaderClosed() => _poller.Tell(JournalHeadPoller.ReaderClosed.Instance);

    internal void CountHeadQuery() => Interlocked.Increment(ref _headQueries);

    internal void CountSourceRead() => Interlocked.Increment(ref _sourceReads);

    /// <summary>Publishes a head that moved (called by the <see cref="JournalHeadPoller"/> only: one writer).</summary>
    internal void Publish(long head)
    {
        var previous = _current;
        if (head <= previous.Head)
        {
            return;
        }

        Volatile.Write(ref _current, new JournalHeadSnapshot(head));
        previous.Supersede();
    }
}

/// <summary>Creates the <see cref="JournalHeadWatch"/> of an actor system.</summary>
internal sealed class JournalHeadWatchProvider : ExtensionIdProvider<JournalHeadWatch>
{
    /// <inheritdoc />
    public override JournalHeadWatch CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>
/// The actor behind <see cref="JournalHeadWatch"/>: counts the open streams, reads the head once per poll interval
/// while there are any (one query in flight at most), takes the journal writer's commit reports, and publishes.
/// </summary>
internal sealed class JournalHeadPoller : ReceiveActor, IWithTimers
{
    private readonly JournalHeadWatch _watch;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private JournalHead? _journal;
    private int _readers;
    private bool _reading;
    private bool _failing;

    public JournalHeadPoller(JournalHeadWatch watch)
    {
        _watch = watch;
        Context.System.EventStream.Subscribe(Self, typeof(JournalCommitted));
        Receive<ReaderOpened>(opened =>
        {
            // Every subscription of a node reads the same database with the same settings: the first one's are kept.
            _journal ??= new JournalHead(opened.Database);
            if (_readers++ == 0)
            {
                Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, opened.PollInterval);
                ReadHead();
            }
        });
        Receive<ReaderClosed>(_ =>
        {
            if (--_readers == 0)
            {
                Timers.Cancel(Poll.Instance);
            }
        });
        Receive<Poll>(_ => ReadHead());
        Receive<JournalCommitted>(committed =>
        {
            _watch.CountCommitNotice();
            if (committed.HighestOrdering is { } ordering)
            {
                _watch.Publish(ordering);
            }
            else if (_readers > 0)
            {
                ReadHead();
            }
        });
        Receive<HeadRead>(read =>
        {
            _reading = false;
            if (_failing)
            {
                _failing = false;
                _log.Info("The journal's head can be read again (ordering {0})", read.Head);
            }

            _watch.Publish(read.Head);
        });
        Receive<HeadReadFailed>(failed =>
        {
            _reading = false;
            if (!_failing)
            {
                // Once per outage; the subscriptions' own reads report it in their status.
                _failing = true;
                _log.Warning(failed.Error, "Reading the journal's head failed; retrying every poll interval");
            }
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private void ReadHead()
    {
        if (_reading || _journal is null)
        {
            return;
        }

        _reading = true;
        _watch.CountHeadQuery();
        _journal.JournalHeadAsync().PipeTo(Self, success: head => new HeadRead(head), failure: error => new HeadReadFailed(error));
    }

    /// <summary>A stream opened (its database, its poll interval).</summary>
    internal sealed record ReaderOpened(ActorEventsDatabase Database, TimeSpan PollInterval);

    /// <summary>A stream stopped.</summary>
    internal sealed record ReaderClosed
    {
        public static readonly ReaderClosed Instance = new();
    }

    private sealed record Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed record HeadRead(long Head);

    private sealed record HeadReadFailed(Exception Error);
}
