using Akka.Actor;
using Xunit.Abstractions;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// Akka.TestKit (xunit 2) over the actor system of an ActorEvents host: probes, <c>ExpectMsg</c>,
/// <c>AwaitAssertAsync</c> against the real runtime. The host owns the system, so the TestKit does not shut it down.
/// </summary>
public abstract class HostedTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected HostedTestKit(ActorEventsTestHost host, ITestOutputHelper? output = null)
        : base(host.System, output)
    {
        TestHost = host;
    }

    /// <summary>The host whose actor system this TestKit drives.</summary>
    protected ActorEventsTestHost TestHost { get; }

    /// <summary>The host's shard regions and mediator.</summary>
    protected Akka.Hosting.ActorRegistry Registry => TestHost.Registry;

    /// <summary>The host's system; the host stops it.</summary>
    protected ActorSystem HostSystem => TestHost.System;

    protected override void AfterAll()
    {
        // The host (or its fixture) terminates the actor system when it is disposed.
    }

    public override void Shutdown(TimeSpan? duration = null, bool verifySystemShutdown = false)
    {
        // TestKit.Dispose would terminate the system here; the host owns it and may be shared by several tests.
    }
}
