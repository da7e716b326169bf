using Akka.Cluster;
using Microsoft.Extensions.Logging;

namespace ActorEvents.Host.Logging;

/// <summary>The sample node's own log lines, source-generated (no boxing or formatting when the level is off).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Address} is up; persistence {Persistence}. Ctrl-C or SIGTERM leaves the cluster and stops it.")]
    public static partial void Up(ILogger log, Akka.Actor.Address address, string persistence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node stopped before it joined a cluster.")]
    public static partial void StoppedBeforeJoining(ILogger log);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node left the cluster and stopped (last membership status: {Status}).")]
    public static partial void Left(ILogger log, MemberStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node stopped without leaving the cluster (last membership status: {Status}); the others will down it.")]
    public static partial void StoppedWithoutLeaving(ILogger log, MemberStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Operations endpoint on {Address}: /metrics, /healthz, /ready{Admin}.")]
    public static partial void OperationsEndpoint(ILogger log, Uri address, string admin);

    [LoggerMessage(Level = LogLevel.Error, Message = "The operations endpoint could not listen on {Hostname}:{Port}; the node runs without it.")]
    public static partial void OperationsEndpointNotListening(ILogger log, Exception error, string hostname, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The admin API is not served on {Hostname}: off loopback it needs ActorEvents:Operations:AdminToken.")]
    public static partial void AdminNeedsToken(ILogger log, string hostname);
}
