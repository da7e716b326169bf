using Akka.Actor;
using Akka.Persistence.Query;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>A stream asks the node's tail of its source for what follows <paramref name="Position"/>. Reply: <see cref="TailPage"/>.</summary>
/// <param name="Source">The asking stream's source (the tail reads through the first one it is given).</param>
/// <param name="Position">The stream's position.</param>
/// <param name="PageSize">At most this many elements.</param>
internal sealed record ReadTail(GapSafeJournalSource Source, long Position, int PageSize);

/// <summary>What the tail holds after the position (empty: nothing new yet), or null: the position is before the tail — read the journal yourself.</summary>
/// <param name="Events">The elements, in journal order.</param>
internal sealed record TailPage(IReadOnlyList<EventEnvelope>? Events);

/// <summary>
/// The node's readers of the journal's recent end, one per source (tag, or every event): each read of the journal
/// made for one subscription that has caught up serves every other caught-up subscription of that source on the node,
/// so tens of projections of one tag cost one read of it, not tens (issue 11, point 7). Routes a <see cref="ReadTail"/>
/// to the <see cref="SourceTail"/> of its source.
/// </summary>
internal sealed class SourceTails : ReceiveActor
{
    public SourceTails() => Receive<ReadTail>(read =>
    {
        var name = read.Source.Tag is { } tag ? "tag-" + Uri.EscapeDataString(tag) : "all-events";
        var child = Context.Child(name);
        (child.IsNobody() ? Context.ActorOf(Props.Create(() => new SourceTail()), name) : child).Forward(read);
    });

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}

/// <summary>
/// The recent end of one source, read once for the node: the elements a <see cref="GapSafeJournalSource"/> read hands
/// out (events, declared gaps, passed-over marks), in journal order, after <c>_from</c> up to <c>_safeTo</c> — at most
/// <see cref="Capacity"/>, the oldest dropped first. A stream at a position inside the tail is answered from it; a
/// stream at its end waits for the one read that extends it (gap-safe, with the tail's own <see cref="GapTracker"/>),
/// however many streams wait; a stream before it reads the journal itself (it is catching up), and one ahead of it
/// moves it forward when no one waits. Events are decoded once and handed to every stream as the same immutable objects.
/// </summary>
internal sealed class SourceTail : ReceiveActor
{
    /// <summary>Most elements kept.</summary>
    public const int Capacity = 10_000;

    private readonly List<EventEnvelope> _elements = [];
    private readonly List<(long Position, int PageSize, IActorRef ReplyTo)> _waiting = [];
    private GapSafeJournalSource? _source;
    private GapTracker? _tracker;
    private long _from = -1;
    private long _safeTo = -1;
    private bool _extending;

    public SourceTail()
    {
        Receive<ReadTail>(Read);
        Receive<Extended>(Append);
        Receive<Status.Failure>(failure =>
        {
            _extending = false;
            foreach (var (_, _, replyTo) in _waiting)
            {
                replyTo.Tell(failure);
            }

            _waiting.Clear();
        });
    }

    private void Read(ReadTail read)
    {
        if (_source is null || _from < 0)
        {
            _source ??= read.Source;
            _tracker = new GapTracker(read.Source.GapTimeout);
            _from = _safeTo = read.Position;
        }

        if (read.Position < _from)
        {
            Sender.Tell(new TailPage(null)); // catching up: before the tail
            return;
        }

        if (read.Position < _safeTo)
        {
            Sender.Tell(new TailPage(Slice(read.Position, read.PageSize)));
            return;
        }

        if (read.Position > _safeTo && !_extending && _waiting.Count == 0)
        {
            // Every stream is past the tail: it starts again from here.
            _elements.Clear();
            _tracker!.Reset();
            _from = _safeTo = read.Position;
        }

        if (read.Position > _safeTo)
        {
            Sender.Tell(new TailPage(null));
            return;
        }

        _waiting.Add((read.Position, read.PageSize, Sender));
        if (!_extending)
        {
            _extending = true;
            var (source, tracker, after) = (_source, _tracker!, _safeTo);
            source.ReadAsync(tracker, after, Math.Max(read.PageSize, GapSafeJournalSource.DefaultPageSize))
                .PipeTo(Self, success: page => new Extended(after, page));
        }
    }

    private void Append(Extended extended)
    {
        _extending = false;
        if (extended.After == _safeTo && extended.Page.Count > 0)
        {
            _elements.AddRange(extended.Page);
            _safeTo = Math.Max(_safeTo, GapSafeJournalSource.OffsetOf(extended.Page[^1]));
            if (_elements.Count > Capacity)
            {
                var dropped = _elements.Count - Capacity;
                _from = GapSafeJournalSource.OffsetOf(_elements[dropped - 1]);
                _elements.RemoveRange(0, dropped);
            }
        }

        foreach (var (position, pageSize, replyTo) in _waiting)
        {
            replyTo.Tell(new TailPage(position < _from ? null : Slice(position, pageSize)));
        }

        _waiting.Clear();
    }

    /// <summary>The elements after <paramref name="position"/>, at most <paramref name="pageSize"/>.</summary>
    private List<EventEnvelope> Slice(long position, int pageSize)
    {
        var low = 0;
        var high = _elements.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (GapSafeJournalSource.OffsetOf(_elements[middle]) <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return _elements.GetRange(low, Math.Min(pageSize, _elements.Count - low));
    }


    private sealed record Extended(long After, IReadOnlyList<EventEnvelope> Page);
}
