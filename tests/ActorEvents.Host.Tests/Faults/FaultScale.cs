namespace ActorEvents.Host.Tests.Faults;

/// <summary>
/// How big the fault scenarios are: small by default (CI), the published size with <c>ACTOREVENTS_FAULT_SCALE=full</c>
/// (20 kills during 50,000 commands; 5,000 orders around each other fault).
/// </summary>
public static class FaultScale
{
    /// <summary>Environment variable that selects the size.</summary>
    public const string Variable = "ACTOREVENTS_FAULT_SCALE";

    /// <summary>True for the published size.</summary>
    public static bool Full => string.Equals(Environment.GetEnvironmentVariable(Variable), "full", StringComparison.OrdinalIgnoreCase);

    /// <summary>Name of the size, for the figures.</summary>
    public static string Name => Full ? "full" : "ci";

    /// <summary>Orders of a load with one fault in it (about 2.25 commands per order).</summary>
    public static int Orders => Full ? 5_000 : 700;

    /// <summary>Commands answered before the fault is injected.</summary>
    public static int FaultAfter => Full ? 2_000 : 300;

    /// <summary>kill -9 of the host during the crash scenario.</summary>
    public static int Kills => Full ? 20 : 4;

    /// <summary>Commands the crash scenario sends across all its runs.</summary>
    public static int KillCommands => Full ? 50_000 : 1_200;

    /// <summary>Orders in flight at once.</summary>
    public const int Concurrency = 16;
}
