using ActorEvents.Actors.Subscriptions.Sources;

namespace ActorEvents.Tests.Subscriptions;

/// <summary>The high-water mark of gap-safe reading, as a pure function of what the journal shows and the clock.</summary>
public sealed class GapTrackerTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public void Should_advance_over_contiguous_orderings_only_and_wait_at_a_missing_one()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);

        var range = tracker.Advance(0, [1, 2, 3, 5, 6]);

        Assert.Equal(3, range.SafePosition); // 4 may still commit: 5 and 6 wait behind it
        Assert.Equal(4, range.OpenGap);
        Assert.Empty(range.DeclaredGaps);
    }

    [Fact]
    public void Should_hand_out_an_ordering_that_commits_late_within_the_gap_timeout()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);
        Assert.Equal(3, tracker.Advance(0, [1, 2, 3, 5]).SafePosition);

        _time.Advance(TimeSpan.FromSeconds(9)); // a slow transaction: still within the timeout
        Assert.Equal(3, tracker.Advance(3, [5, 6]).SafePosition);
        var late = tracker.Advance(3, [4, 5, 6]); // it commits

        Assert.Equal(6, late.SafePosition);
        Assert.Empty(late.DeclaredGaps);
        Assert.Equal(0, tracker.Awaited);
    }

    [Fact]
    public void Should_declare_a_gap_permanent_once_after_the_timeout_and_move_past_it()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);
        tracker.Advance(0, [1, 3, 4]);
        _time.Advance(TimeSpan.FromSeconds(10));

        var range = tracker.Advance(1, [3, 4]);

        Assert.Equal(4, range.SafePosition);
        Assert.Equal([2L], range.DeclaredGaps);
        Assert.Empty(tracker.Advance(4, [5]).DeclaredGaps); // reported once
    }

    [Fact]
    public void Should_time_each_missing_ordering_from_when_it_was_first_seen()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);
        tracker.Advance(0, [2]); // 1 missing since t0
        _time.Advance(TimeSpan.FromSeconds(6));
        tracker.Advance(0, [2, 4]); // 3 missing since t0+6
        _time.Advance(TimeSpan.FromSeconds(5));

        var range = tracker.Advance(0, [2, 4, 5]);

        Assert.Equal([1L], range.DeclaredGaps); // awaited 11 s
        Assert.Equal(2, range.SafePosition); // 3 has waited only 5 s
        Assert.Equal(3, range.OpenGap);
    }

    [Fact]
    public void Should_declare_a_gap_as_soon_as_every_transaction_that_could_hold_it_has_ended()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);
        // Seen missing while transactions up to 99 exist (next id 100); transaction 90 is still running.
        Assert.Equal(1, tracker.Advance(0, [1, 3], new TransactionHorizon(90, 100)).SafePosition);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, tracker.Advance(1, [3], new TransactionHorizon(95, 105)).SafePosition); // 95 < 100: may still commit

        var range = tracker.Advance(1, [3], new TransactionHorizon(100, 107)); // every transaction below 100 ended
        Assert.Equal([2L], range.DeclaredGaps);
        Assert.Equal(3, range.SafePosition);
    }

    [Fact]
    public void Should_report_how_long_a_declared_gap_was_really_awaited()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);
        tracker.Advance(0, [1, 3], new TransactionHorizon(90, 100));
        _time.Advance(TimeSpan.FromSeconds(2));
        tracker.Advance(1, [3, 5], new TransactionHorizon(95, 110)); // 4 first seen 2 s after 2

        _time.Advance(TimeSpan.FromSeconds(1.5));
        var ended = tracker.Advance(1, [3, 5], new TransactionHorizon(120, 130)); // every transaction that could hold them ended

        Assert.Equal([2L, 4L], ended.DeclaredGaps);
        Assert.Equal(TimeSpan.FromSeconds(3.5), ended.Waited); // not the 10 s gap timeout
        Assert.Equal(TimeSpan.Zero, tracker.Advance(5, [6]).Waited);

        tracker.Advance(6, [8]);
        _time.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal(TimeSpan.FromSeconds(12), tracker.Advance(6, [8]).Waited); // declared by the timeout, seen late
    }

    [Fact]
    public void Should_still_await_a_gap_briefly_even_when_its_transactions_ended()
    {
        var tracker = new GapTracker(TimeSpan.FromSeconds(10), _time);

        var range = tracker.Advance(0, [2], new TransactionHorizon(200, 100)); // horizon already past, but just seen

        Assert.Equal(0, range.SafePosition);
        _time.Advance(GapTracker.EndedTransactionGrace);
        Assert.Equal(2, tracker.Advance(0, [2], new TransactionHorizon(200, 210)).SafePosition);
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
