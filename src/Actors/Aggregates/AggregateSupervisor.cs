using ActorEvents.Messages;
using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Aggregates;

/// <summary>
/// A write whose outcome the journal could not confirm when its aggregate had to answer (and stop): the events may
/// have committed. The next incarnation of the aggregate checks after recovery whether they did and, if so, hands
/// them to their in-request handlers.
/// </summary>
/// <param name="CommandId">The command whose events they are.</param>
/// <param name="Envelopes">The events as they were sent to the journal.</param>
/// <param name="Pipeline">The pool that would have run them (null: they were not to be dispatched).</param>
internal sealed record UnconfirmedWrite(string CommandId, IReadOnlyList<EventEnvelope> Envelopes, PipelineKind? Pipeline);

/// <summary>Told by an aggregate to its supervisor right before it stops itself after a journal failure or rejection.</summary>
/// <param name="Unconfirmed">The write whose outcome is unknown, if any.</param>
/// <param name="RestartAtOnce">
/// True after a rejection (nothing was written, the journal works): restart without backoff. The aggregate restarts so
/// that its next events continue the stored sequence numbers without a gap.
/// </param>
internal sealed record AggregateIncarnationEnding(UnconfirmedWrite? Unconfirmed, bool RestartAtOnce)
{
    /// <summary>The next incarnations recover from the events alone: the snapshot this one was offered cannot be read.</summary>
    public bool FromEventsOnly { get; init; }
}

/// <summary>
/// The supervisor's answer to <see cref="AggregateIncarnationEnding"/> with <c>RestartAtOnce</c>: from now on it holds new
/// commands itself, and everything it forwarded before is in the aggregate's mailbox ahead of this message.
/// </summary>
internal sealed record AggregateEndingAcknowledged
{
    public static readonly AggregateEndingAcknowledged Instance = new();
}

/// <summary>
/// Told by an aggregate whose recovery failed because a stored event cannot be read on this node (its type or version is
/// unknown here): retrying cannot help until the node runs newer code, so the supervisor answers
/// <see cref="RejectionCode.UnreadableStream"/> instead of restarting it, until it passivates.
/// </summary>
/// <param name="Reason">What could not be read.</param>
internal sealed record AggregateUnreadable(string Reason);

/// <summary>Told by an aggregate once it recovered and settled the first <paramref name="Count"/> unconfirmed writes it was given.</summary>
/// <param name="Count">How many of the unconfirmed writes it was given are settled (dispatched, or found not written).</param>
internal sealed record UnconfirmedWritesSettled(int Count);

/// <summary>
/// The parent of one aggregate entity (what sharding hosts): restarts it after a failure with exponential backoff (at once
/// after a rejection), answers <see cref="RejectionCode.AggregateUnavailable"/> while it is down, holds commands that
/// arrive while it is stopping after a rejection and hands them to the next incarnation, keeps the unconfirmed writes of
/// failed incarnations until an incarnation settled them, and stops for good on <see cref="AggregateStop"/> — once its
/// node's event pipeline holds none of its events any more (<see cref="DrainAggregate"/>), so that after a hand-off the
/// incarnation on the next node cannot have newer events handled before these.
/// </summary>
internal sealed class AggregateSupervisor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private const string ChildName = "aggregate";

    private readonly Func<IReadOnlyList<UnconfirmedWrite>, bool, Props> _childProps;
    private readonly TimeSpan _minBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly AggregateDrainSettings _drain;
    private readonly List<UnconfirmedWrite> _unconfirmed = [];
    private IActorRef _child = ActorRefs.Nobody;
    private DateTime _childStartedAt;
    private int _restarts;
    private bool _fromEventsOnly;

    /// <param name="childProps">The props of an incarnation: given the unconfirmed writes to settle, and whether to pass over snapshots.</param>
    /// <param name="minBackoff">The first restart delay.</param>
    /// <param name="maxBackoff">The longest restart delay.</param>
    /// <param name="drain">Where and how long the entity drains its events when it stops.</param>
    public AggregateSupervisor(Func<IReadOnlyList<UnconfirmedWrite>, bool, Props> childProps, TimeSpan minBackoff, TimeSpan maxBackoff, AggregateDrainSettings drain)
    {
        _drain = drain;
        _childProps = childProps;
        _minBackoff = minBackoff;
        _maxBackoff = maxBackoff < minBackoff ? minBackoff : maxBackoff;
        StartChild();
        Become(Running);
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The child runs: everything is forwarded to it.</summary>
    private void Running()
    {
        Receive<AggregateIncarnationEnding>(ending =>
        {
            if (ending.Unconfirmed is { } unconfirmed)
            {
                _unconfirmed.Add(unconfirmed);
            }

            _fromEventsOnly |= ending.FromEventsOnly;

            if (ending.RestartAtOnce)
            {
                // The aggregate hands back the commands in its mailbox until this arrives, then stops: none is lost.
                Sender.Tell(AggregateEndingAcknowledged.Instance);
            }

            Become(() => Ending(ending.RestartAtOnce));
        });
        Receive<UnconfirmedWritesSettled>(settled => _unconfirmed.RemoveRange(0, Math.Min(settled.Count, _unconfirmed.Count)));
        Receive<AggregateUnreadable>(Unreadable);
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_child), _ => ChildEnded(restartAtOnce: false));
        Receive<AggregateStop>(stop =>
        {
            _child.Forward(stop);
            Become(Stopping);
        });
        ReceiveAny(message => _child.Forward(message));
    }

    /// <summary>The child said it stops: hold what arrives (new commands, and those it hands back) until it is gone.</summary>
    private void Ending(bool restartAtOnce)
    {
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_child), _ => ChildEnded(restartAtOnce));
        Receive<AggregateStop>(_ => Drain()); // held commands go to dead letters, where the mediator answers them
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>Waiting out the backoff: commands are answered AggregateUnavailable.</summary>
    private void BackingOff()
    {
        // The child's Terminated may come before what it said last.
        Receive<AggregateUnreadable>(Unreadable);
        Receive<RestartAggregate>(_ =>
        {
            StartChild();
            Become(Running);
        });
        Receive<AggregateRequest>(request => Sender.Tell(new CommandRejected(RejectionCode.AggregateUnavailable,
            "The aggregate is restarting after a failure; nothing of this command was persisted. Retry with the same command id.")
        { CommandId = request.CommandId }));
        Receive<AggregateStop>(_ => Drain());
    }

    /// <summary>
    /// The stream cannot be read on this node: no restart (it would fail the same way), every command is answered
    /// <see cref="RejectionCode.UnreadableStream"/> until passivation or hand-off stops this supervisor.
    /// </summary>
    private void Unreadable(AggregateUnreadable unreadable)
    {
        Timers.Cancel(RestartAggregate.Instance);
        Become(() =>
        {
            Receive<AggregateRequest>(request => Sender.Tell(new CommandRejected(RejectionCode.UnreadableStream,
                $"This node cannot read the aggregate's events ({unreadable.Reason}); nothing of this command was persisted. "
                + "Retry once the node runs the version that knows them.")
            { CommandId = request.CommandId }));
            Receive<AggregateStop>(_ => Drain());
            ReceiveAny(_ => { });
        });
        Stash.UnstashAll();
    }

    /// <summary>Passivation or hand-off: the child answers what is in its mailbox, then stops, and so does this.</summary>
    private void Stopping()
    {
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_child), _ => Drain());
        ReceiveAny(message => _child.Forward(message));
    }

    /// <summary>
    /// The entity stops: first its node's event pipeline finishes the events it holds of this aggregate (queued, running,
    /// retrying), then it stops — at the latest after the drain timeout.
    /// </summary>
    private void Drain()
    {
        NoEventSink.OrNone(_drain.Sink, Context.System).Tell(new DrainAggregate(_drain.AggregateType, _drain.AggregateId, Self));
        Timers.StartSingleTimer(DrainTimedOut.Instance, DrainTimedOut.Instance, _drain.Timeout);
        Become(Draining);
    }

    /// <summary>Waiting for the drain: commands are held (when it stops they go to dead letters, where the mediator answers them).</summary>
    private void Draining()
    {
        Receive<AggregateDrained>(_ => Context.Stop(Self));
        Receive<DrainTimedOut>(_ =>
        {
            Context.GetLogger().Warning("Aggregate {0} '{1}' stops with some of its events still in its node's handler pools after {2} s: "
                + "its next incarnation's events may be handled before them.", _drain.AggregateType, _drain.AggregateId, _drain.Timeout.TotalSeconds);
            Context.Stop(Self);
        });
        Receive<AggregateRequest>(_ => Stash.Stash());
        ReceiveAny(_ => { });
    }

    private void ChildEnded(bool restartAtOnce)
    {
        _child = ActorRefs.Nobody;
        if (DateTime.UtcNow - _childStartedAt > _minBackoff)
        {
            _restarts = 0;
        }

        if (restartAtOnce)
        {
            StartChild();
            Become(Running);
            Stash.UnstashAll();
            return;
        }

        var delay = Delay(_restarts++);
        Timers.StartSingleTimer(RestartAggregate.Instance, RestartAggregate.Instance, delay);
        Become(BackingOff);
        Stash.UnstashAll();
    }

    private TimeSpan Delay(int restarts)
    {
        var exponential = _minBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(restarts, 30));
        var capped = Math.Min(exponential, _maxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 + (Random.Shared.NextDouble() * 0.2)));
    }

    private void StartChild()
    {
        _child = Context.Watch(Context.ActorOf(_childProps([.. _unconfirmed], _fromEventsOnly), ChildName));
        _childStartedAt = DateTime.UtcNow;
    }

    private sealed class RestartAggregate
    {
        public static readonly RestartAggregate Instance = new();
    }

    private sealed class DrainTimedOut
    {
        public static readonly DrainTimedOut Instance = new();
    }
}

/// <summary>Where a stopping aggregate entity drains its events, and for how long at most.</summary>
/// <param name="Sink">The node's event sink (null: none, <see cref="NoEventSink"/> answers at once).</param>
/// <param name="AggregateType">The aggregate type.</param>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Timeout">The longest wait.</param>
internal sealed record AggregateDrainSettings(IActorRef? Sink, string AggregateType, string AggregateId, TimeSpan Timeout);
