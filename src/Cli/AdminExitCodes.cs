namespace ActorEvents.Cli;

/// <summary>Exit codes of the <c>dlq</c> and <c>subscriptions</c> verbs.</summary>
public static class AdminExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>The node, the database or the admin API could not be used (unreachable, wrong token, a node that did not come up), or a replay failed again.</summary>
    public const int Failed = 1;

    /// <summary>The command line could not be used (e.g. <c>--seed</c>: the verbs join no cluster).</summary>
    public const int UsageError = 2;

    /// <summary>The request was refused: no such dead letter or subscription, not a projection, a position beyond the head, ….</summary>
    public const int Refused = 3;

    /// <summary>Without <c>--admin-url</c>, a replay, skip or purge found a node of the configured cluster answering: it ran nothing.</summary>
    public const int ClusterRunning = 4;
}
