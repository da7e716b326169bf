using System.Security.Cryptography;

namespace ActorEvents.Host.Workload;

/// <summary>Shape of one run of the demo workload.</summary>
public sealed record WorkloadSettings
{
    /// <summary>Default number of commands.</summary>
    public const int DefaultCommands = 3_000;

    /// <summary>Default number of orders per batch.</summary>
    public const int DefaultOrdersPerBatch = 200;

    /// <summary>Default number of SKUs.</summary>
    public const int DefaultSkus = 50;

    /// <summary>Default number of commands in flight at once.</summary>
    public const int DefaultConcurrency = 32;

    /// <summary>About how many commands to send (the plan stops adding orders once it reaches this).</summary>
    public int Commands { get; init; } = DefaultCommands;

    /// <summary>Orders per batch; every batch starts by restocking every SKU.</summary>
    public int OrdersPerBatch { get; init; } = DefaultOrdersPerBatch;

    /// <summary>Number of SKUs. Their ids are fixed (<c>sku-001</c>…), so their stock accumulates across runs.</summary>
    public int Skus { get; init; } = DefaultSkus;

    /// <summary>Most commands in flight at once.</summary>
    public int Concurrency { get; init; } = DefaultConcurrency;

    /// <summary>Id of this run; prefixes every order id so that two runs never touch the same order.</summary>
    public string RunId { get; init; } = RunIds.New();

    /// <summary>Seed of the random choices (quantities, order fates).</summary>
    public int RandomSeed { get; init; } = Environment.TickCount;
}

/// <summary>Makes run ids: UTC time to the second plus a random suffix, e.g. <c>r20250101-120000-3fa9c2</c>.</summary>
public static class RunIds
{
    /// <summary>A new run id.</summary>
    public static string New() => New(DateTimeOffset.UtcNow);

    /// <summary>A new run id for the given time.</summary>
    public static string New(DateTimeOffset now) =>
        $"r{now.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
}
