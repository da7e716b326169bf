using ActorEvents.Actors.Telemetry;
using Akka.Actor;
using Akka.Cluster;
using LinqToDB.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// The node's health checks for Microsoft.Extensions.Diagnostics.HealthChecks: liveness (<see cref="LiveTag"/>: Akka.Hosting's
/// own <c>akka.actorsystem</c> check, the actor system runs) and readiness (<see cref="ReadyTag"/>: this node is an Up cluster
/// member, the journal's database answers, and none of the subscriptions running here has been stalled longer than
/// <see cref="Configuration.SubscriptionsOptions.StalledThreshold"/>). <c>AddActorEvents</c> registers them.
/// </summary>
public static class ActorEventsHealthChecks
{
    /// <summary>Tag of the liveness checks (<c>/healthz</c>); Akka.Hosting's liveness check carries it.</summary>
    public const string LiveTag = "liveness";

    /// <summary>Tag of the readiness checks (<c>/ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Adds the readiness checks <c>cluster-member-up</c>, <c>journal</c> and <c>subscriptions</c>.</summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    internal static IHealthChecksBuilder AddActorEventsChecks(this IHealthChecksBuilder builder) => builder
        .AddCheck<ClusterMemberUpCheck>("cluster-member-up", tags: [ReadyTag])
        .AddCheck<JournalReachableCheck>("journal", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(5))
        .Add(new HealthCheckRegistration("subscriptions",
            provider => new SubscriptionsNotStalledCheck(provider.GetRequiredService<ActorSystem>(),
                provider.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Subscriptions.StalledThreshold), HealthStatus.Unhealthy, [ReadyTag]));

    private sealed class ClusterMemberUpCheck(ActorSystem system) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var cluster = Cluster.Get(system);
            var self = cluster.SelfMember;
            var data = new Dictionary<string, object>
            {
                ["status"] = self.Status.ToString(),
                ["members"] = cluster.State.Members.Count,
                ["unreachable"] = cluster.State.Unreachable.Count,
            };
            return Task.FromResult(self.Status == MemberStatus.Up
                ? HealthCheckResult.Healthy($"{cluster.SelfAddress} is Up.", data)
                : HealthCheckResult.Unhealthy($"{cluster.SelfAddress} is {self.Status}, not Up.", data: data));
        }
    }

    private sealed class JournalReachableCheck(ActorEventsDatabase database) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!database.IsAvailable)
            {
                return HealthCheckResult.Healthy("In-memory journal.");
            }

            try
            {
                await using var connection = database.Open();
                await connection.ExecuteAsync("SELECT 1", cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"The {database.Provider} database answers.");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Provider messages name the server, never the password.
                return HealthCheckResult.Unhealthy($"The {database.Provider} database does not answer: {e.GetBaseException().Message}");
            }
        }
    }

    private sealed class SubscriptionsNotStalledCheck(ActorSystem system, TimeSpan threshold) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var stalled = TelemetryBoard.StalledSince(Cluster.Get(system).SelfAddress.ToString(), DateTimeOffset.UtcNow - threshold);
            return Task.FromResult(stalled.Count == 0
                ? HealthCheckResult.Healthy($"No subscription on this node has been stalled for {threshold.TotalSeconds:0} s.")
                : HealthCheckResult.Unhealthy(
                    $"Stalled for more than {threshold.TotalSeconds:0} s: {string.Join("; ", stalled.Select(s => $"{s.Name} ({s.LastError})"))}"));
        }
    }
}
