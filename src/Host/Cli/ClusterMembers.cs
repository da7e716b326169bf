using Akka.Actor;
using Akka.Cluster;

namespace ActorEvents.Host.Cli;

/// <summary>Waiting for a node to see enough members of its cluster up.</summary>
internal static class ClusterMembers
{
    /// <summary>
    /// Waits until <paramref name="system"/>'s node sees at least <paramref name="members"/> members up; false when
    /// <paramref name="deadline"/> passes (or <paramref name="cancellationToken"/> is cancelled) first.
    /// </summary>
    public static async Task<bool> WaitUntilUpAsync(ActorSystem system, int members, DateTime deadline, CancellationToken cancellationToken = default)
    {
        var cluster = Cluster.Get(system);
        while (cluster.State.Members.Count(m => m.Status == MemberStatus.Up) < members)
        {
            if (DateTime.UtcNow > deadline || cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }

        return true;
    }
}
