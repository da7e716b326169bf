using System.ComponentModel.DataAnnotations;

namespace ActorEvents.Actors.Configuration;

/// <summary>
/// Retry settings of handlers (defaults from <c>ActorEvents:Pipeline:Retry</c>, overridable per handler):
/// exponential backoff with jitter, an invocation timeout, and which errors are permanent.
/// </summary>
public sealed class RetryOptions
{
    /// <summary>Retries after the first attempt (so at most 1 + MaxRetries invocations).</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Delay before the first retry.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Each retry waits this many times longer than the previous one.</summary>
    [Range(1.0, 100.0)]
    public double BackoffFactor { get; set; } = 2.0;

    /// <summary>Longest delay between two attempts.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Random spread of each delay, as a fraction (0.2 = ±20 %).</summary>
    [Range(0.0, 1.0)]
    public double Jitter { get; set; } = 0.2;

    /// <summary>An invocation that takes longer fails with a (transient) timeout.</summary>
    public TimeSpan InvocationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Full names of exception types that are permanent: no retry, straight to the dead-letter store.</summary>
    public List<string> PermanentExceptions { get; set; } = [];

    /// <summary>A copy (so a handler can override a few settings of the defaults).</summary>
    public RetryOptions Clone() => new()
    {
        MaxRetries = MaxRetries,
        InitialDelay = InitialDelay,
        BackoffFactor = BackoffFactor,
        MaxDelay = MaxDelay,
        Jitter = Jitter,
        InvocationTimeout = InvocationTimeout,
        PermanentExceptions = [.. PermanentExceptions],
    };

    /// <summary>Marks an exception type (and its subclasses) permanent.</summary>
    public RetryOptions Permanent<TException>() where TException : Exception
    {
        PermanentExceptions.Add(typeof(TException).FullName!);
        return this;
    }

    /// <summary>Whether <paramref name="error"/>'s type, or a base type of it, is listed in <see cref="PermanentExceptions"/>.</summary>
    public bool ListsAsPermanent(Exception error)
    {
        for (var type = error.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            if (PermanentExceptions.Contains(type.FullName!))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Delay before retry number <paramref name="retry"/> (1-based), with jitter.</summary>
    public TimeSpan DelayBefore(int retry, Random? random = null)
    {
        var nominal = InitialDelay.TotalMilliseconds * Math.Pow(BackoffFactor, Math.Max(0, retry - 1));
        var capped = Math.Min(nominal, MaxDelay.TotalMilliseconds);
        var spread = capped * Jitter * (((random ?? Random.Shared).NextDouble() * 2) - 1);
        return TimeSpan.FromMilliseconds(Math.Max(0, capped + spread));
    }
}
