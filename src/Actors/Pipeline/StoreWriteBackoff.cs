namespace ActorEvents.Actors.Pipeline;

/// <summary>
/// How long a pool waits before it writes to the dead-letter store again after failed writes (a dead letter, a parked
/// follower): 250 ms doubled per failure, at most 30 s. The item is kept meanwhile, never dropped.
/// </summary>
internal static class StoreWriteBackoff
{
    private const double FirstMilliseconds = 250;
    private const double LongestMilliseconds = 30_000;

    /// <summary>The wait after <paramref name="failures"/> failed writes (0: the first wait).</summary>
    public static TimeSpan After(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(LongestMilliseconds, FirstMilliseconds * Math.Pow(2, Math.Clamp(failures, 0, 7))));
}
