using ActorEvents.Actors.Configuration;

namespace ActorEvents.Tests.Supervision;

/// <summary>The backoff schedule of <see cref="RetryOptions.DelayBefore"/>, without timers.</summary>
public sealed class RetryScheduleTests
{
    [Fact]
    public void Should_multiply_the_delay_by_the_backoff_factor_per_retry_up_to_the_cap()
    {
        var options = new RetryOptions
        {
            InitialDelay = TimeSpan.FromMilliseconds(100),
            BackoffFactor = 2,
            MaxDelay = TimeSpan.FromMilliseconds(500),
            Jitter = 0,
        };

        var delays = Enumerable.Range(1, 5).Select(retry => options.DelayBefore(retry).TotalMilliseconds);

        Assert.Equal([100, 200, 400, 500, 500], delays);
    }

    [Fact]
    public void Should_keep_each_jittered_delay_inside_its_band_and_actually_spread_it()
    {
        var options = new RetryOptions { InitialDelay = TimeSpan.FromMilliseconds(1000), BackoffFactor = 3, Jitter = 0.2 };
        var random = new Random(42);

        var first = Enumerable.Range(0, 500).Select(_ => options.DelayBefore(1, random).TotalMilliseconds).ToArray();
        var second = Enumerable.Range(0, 500).Select(_ => options.DelayBefore(2, random).TotalMilliseconds).ToArray();

        Assert.All(first, d => Assert.InRange(d, 800, 1200));
        Assert.All(second, d => Assert.InRange(d, 2400, 3600));
        Assert.True(first.Max() - first.Min() > 200, "jitter should spread the delays");
        Assert.True(second.Min() > first.Max(), "every second retry should wait longer than any first one with this factor");
    }
}
