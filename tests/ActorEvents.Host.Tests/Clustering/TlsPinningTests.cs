using System.Globalization;
using ActorEvents.Host.Cli;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Host.Tests.Clustering;

/// <summary>
/// TLS with pinned certificates (<c>Node:Tls:PinnedThumbprints</c>, mutual authentication on): nodes presenting a pinned
/// certificate form a cluster; a node with another self-signed certificate, or one without TLS, does not join, and
/// cannot reach the cluster's actors either (its <see cref="PurgeDeadLetters"/> sent to the dead-letter office purges nothing).
/// </summary>
public sealed class TlsPinningTests : IDisposable
{
    private const string Password = "pin-Secret-31d9";
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(10);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actor-events-tests", Guid.NewGuid().ToString("N"));

    public TlsPinningTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Should_form_a_cluster_of_nodes_that_present_the_pinned_certificate()
    {
        var certificate = SecureDefaultsTests.CreateSelfSignedPfx(_folder, "a.pfx", Password);
        var ports = LocalCluster.FreePorts(2);
        using var first = await StartAsync(ports, 0, Tls(certificate.Path, certificate.Thumbprint));
        using var second = await StartAsync(ports, 1, Tls(certificate.Path, certificate.Thumbprint));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (UpMembers(first) < 2 || UpMembers(second) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the two pinned nodes did not form a cluster");
            await Task.Delay(50);
        }

        // The same request the refused nodes send below, from a member: it is answered and purges.
        var id = await AddDeadLetterAsync(first);
        var purged = await OfficeOf(second, ports[0]).Ask<object>(new PurgeDeadLetters(), TimeSpan.FromSeconds(10));
        Assert.True(purged is DeadLettersPurged, purged.ToString());
        Assert.DoesNotContain(await first.Services.GetRequiredService<IDeadLetterStore>().ListAsync(new DeadLetterFilter()), entry => entry.Id == id);
        await StopAsync(second, first);
    }

    [Fact]
    public async Task Should_not_let_a_node_with_another_self_signed_certificate_join()
    {
        var pinned = SecureDefaultsTests.CreateSelfSignedPfx(_folder, "a.pfx", Password);
        var other = SecureDefaultsTests.CreateSelfSignedPfx(_folder, "b.pfx", Password);
        var ports = LocalCluster.FreePorts(2);
        using var first = await StartAsync(ports, 0, Tls(pinned.Path, pinned.Thumbprint));
        // The intruder would accept the cluster's certificate; the cluster does not accept its own.
        using var intruder = await StartAsync(ports, 1, Tls(other.Path, pinned.Thumbprint, other.Thumbprint));

        await Task.Delay(Refused);

        Assert.Equal(1, UpMembers(first));
        Assert.NotEqual(MemberStatus.Up, Cluster.Get(intruder.Services.GetRequiredService<ActorSystem>()).SelfMember.Status);
        await AssertCannotPurgeDeadLettersAsync(intruder, first, ports[0]);
        await StopAsync(intruder, first);
    }

    [Fact]
    public async Task Should_not_let_a_node_without_tls_join()
    {
        var pinned = SecureDefaultsTests.CreateSelfSignedPfx(_folder, "a.pfx", Password);
        var ports = LocalCluster.FreePorts(2);
        using var first = await StartAsync(ports, 0, Tls(pinned.Path, pinned.Thumbprint));
        using var plaintext = await StartAsync(ports, 1, new Dictionary<string, string?>());

        await Task.Delay(Refused);

        Assert.Equal(1, UpMembers(first));
        Assert.NotEqual(MemberStatus.Up, Cluster.Get(plaintext.Services.GetRequiredService<ActorSystem>()).SelfMember.Status);
        await AssertCannotPurgeDeadLettersAsync(plaintext, first, ports[0]);
        await StopAsync(plaintext, first);
    }

    /// <summary>
    /// The refused node sends <see cref="PurgeDeadLetters"/> straight to the cluster node's dead-letter office (its actor
    /// path, without joining): no answer comes back, and the office's store still holds its dead letter.
    /// </summary>
    private static async Task AssertCannotPurgeDeadLettersAsync(IHost refused, IHost member, int memberPort)
    {
        var id = await AddDeadLetterAsync(member);
        var office = OfficeOf(refused, memberPort);

        await Assert.ThrowsAnyAsync<Exception>(() => office.Ask<object>(new PurgeDeadLetters(), TimeSpan.FromSeconds(5)));

        Assert.Contains(await member.Services.GetRequiredService<IDeadLetterStore>().ListAsync(new DeadLetterFilter()), entry => entry.Id == id);
    }

    private static async Task<long> AddDeadLetterAsync(IHost node)
    {
        var envelope = new EventEnvelope(Guid.NewGuid().ToString("N"), "order.shipped", 1, DateTimeOffset.UtcNow, "test", "order", "o-1", 1, "c", "c", null,
            new ActorEvents.Host.Domain.Orders.OrderShipped("o-1", "sku-001", 1));
        return await node.Services.GetRequiredService<IDeadLetterStore>()
            .AddAsync(new NewDeadLetter("AuditLogHandler", envelope, new HandlerFailure("Test", "kept", null, false), 1, DateTimeOffset.UtcNow));
    }

    /// <summary>The dead-letter office of the node on <paramref name="port"/>, by its actor path, as seen from <paramref name="from"/>.</summary>
    /// <remarks>Addressed with the sender's own transport (<c>akka.ssl.tcp</c>, or <c>akka.tcp</c> for the plaintext node).</remarks>
    private static ActorSelection OfficeOf(IHost from, int port)
    {
        var system = from.Services.GetRequiredService<ActorSystem>();
        var target = new Address(Cluster.Get(system).SelfAddress.Protocol, system.Name, "127.0.0.1", port);
        return system.ActorSelection($"{target}/user/actor-events/dead-letters");
    }

    private static Dictionary<string, string?> Tls(string path, params string[] thumbprints)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ActorEvents:Node:Tls:Enabled"] = "true",
            ["ActorEvents:Node:Tls:CertificatePath"] = path,
            ["ActorEvents:Node:Tls:CertificatePassword"] = Password,
        };
        for (var i = 0; i < thumbprints.Length; i++)
        {
            settings[$"ActorEvents:Node:Tls:PinnedThumbprints:{i}"] = thumbprints[i];
        }

        return settings;
    }

    /// <summary>Starts node <paramref name="index"/> (the first is the seed) without waiting for it to be Up.</summary>
    private static async Task<IHost> StartAsync(int[] ports, int index, Dictionary<string, string?> settings)
    {
        settings["ActorEvents:Node:Port"] = ports[index].ToString(CultureInfo.InvariantCulture);
        settings["ActorEvents:Node:SeedNodes:0"] = HostProcess.SeedOf(ports[0]);
        settings["ActorEvents:Persistence:Provider"] = "inmemory";
        var host = NodeHost.CreateBuilder([], settings).Build();
        await host.StartAsync();
        return host;
    }

    private static int UpMembers(IHost host) =>
        Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).State.Members.Count(m => m.Status == MemberStatus.Up);

    private static async Task StopAsync(params IHost[] hosts)
    {
        foreach (var host in hosts)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await host.StopAsync(stop.Token);
        }
    }
}
