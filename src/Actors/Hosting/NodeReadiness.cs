using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Actors.Hosting;

/// <summary>Waits for a started host's node to become an Up member of its cluster.</summary>
public static class NodeReadiness
{
    /// <summary>
    /// Completes with the node's address once it is Up. Returns null when the host stops first (e.g. the actor
    /// system failed to start: Akka.Hosting then stops the application instead of throwing from StartAsync) or
    /// when <paramref name="timeout"/> runs out.
    /// </summary>
    /// <param name="host">A started host.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until the host stops.</param>
    public static async Task<Address?> WaitUntilUpAsync(IHost host, TimeSpan timeout)
    {
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            return null;
        }

        var system = host.Services.GetRequiredService<ActorSystem>();
        var cluster = Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        using var stopped = stopping.Register(() => up.TrySetCanceled());
        var finished = await Task.WhenAny(up.Task, Task.Delay(timeout)).ConfigureAwait(false);
        return finished == up.Task && up.Task.IsCompletedSuccessfully ? cluster.SelfAddress : null;
    }
}
