using System.Net;
using System.Net.Sockets;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>Loopback ports free at the moment of asking (all held open together, so they are distinct).</summary>
public static class FreePorts
{
    /// <summary>Takes <paramref name="count"/> distinct free ports on 127.0.0.1.</summary>
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var listener in listeners)
        {
            listener.Start();
        }

        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var listener in listeners)
        {
            listener.Stop();
        }

        return ports;
    }
}
