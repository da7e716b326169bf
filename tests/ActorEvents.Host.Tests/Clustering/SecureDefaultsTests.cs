using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Messages;
using Microsoft.Extensions.Logging;

namespace ActorEvents.Host.Tests.Clustering;

public sealed class SecureDefaultsTests : IDisposable
{
    private const string CertificatePassword = "pfx-Secret-7f3c9a";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "actor-events-tests", Guid.NewGuid().ToString("N"));

    public SecureDefaultsTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public async Task Should_form_a_cluster_over_tls_with_a_self_signed_certificate_and_never_log_secrets()
    {
        var certificate = CreateSelfSignedPfx();
        var logs = new CapturingLoggerProvider();
        var ports = ActorEvents.Host.Cli.LocalCluster.FreePorts(2);
        var seed = $"akka.tcp://actor-events@127.0.0.1:{ports[0]}";
        var databases = new[] { new TempSqliteDatabase(), new TempSqliteDatabase() };
        var nodes = new List<ActorEventsTestHost>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var builder = NodeHost.CreateBuilder([], new Dictionary<string, string?>
                {
                    ["ActorEvents:Node:Port"] = ports[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["ActorEvents:Node:SeedNodes:0"] = seed,
                    ["ActorEvents:Node:Tls:Enabled"] = "true",
                    ["ActorEvents:Node:Tls:CertificatePath"] = certificate,
                    ["ActorEvents:Node:Tls:CertificatePassword"] = CertificatePassword,
                    ["ActorEvents:Node:Tls:AllowUntrustedCertificates"] = "true",
                    ["ActorEvents:Persistence:Provider"] = PersistenceProviders.Sqlite,
                    ["ActorEvents:Persistence:ConnectionString"] = databases[i].ConnectionString,
                    ["Logging:LogLevel:Default"] = "Debug",
                    ["Logging:LogLevel:Akka"] = "Debug", // appsettings.json filters Akka to warnings; capture everything here
                });
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
                builder.Logging.AddProvider(logs);
                nodes.Add(await ActorEventsTestHost.StartAsync(builder.Build()));
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Akka.Cluster.Cluster.Get(nodes[1].System).State.Members.Count < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "the two TLS nodes did not form a cluster");
                await Task.Delay(50);
            }

            // Commands sent on node 2 reach aggregates hosted on node 1, across the TLS connection.
            var hosts = new HashSet<string>();
            for (var i = 0; i < 20; i++)
            {
                var accepted = Assert.IsType<CommandAccepted>(await nodes[1].SendAsync(new AddStock($"tls-{i}", 1)));
                hosts.Add(accepted.Events[0].SourceNode);
            }

            Assert.Contains(nodes[0].SelfAddress, hosts);
            Assert.Contains(nodes[1].SelfAddress, hosts);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            foreach (var database in databases)
            {
                database.Dispose();
            }
        }

        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, line => line.Contains(CertificatePassword, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => databases.Any(d => line.Contains(d.ConnectionString, StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_bind_remoting_to_loopback_by_default()
    {
        var options = new ActorEventsOptions();

        Assert.Equal("127.0.0.1", options.Node.Hostname);
        Assert.False(options.Node.Tls.Enabled);
    }

    [Fact]
    public async Task Should_refuse_to_start_with_tls_on_and_no_certificate()
    {
        var builder = NodeHost.CreateBuilder([], new Dictionary<string, string?>
        {
            ["ActorEvents:Node:Port"] = "0",
            ["ActorEvents:Node:Tls:Enabled"] = "true",
            ["ActorEvents:Node:Tls:CertificatePath"] = Path.Combine(_folder, "missing.pfx"),
            ["ActorEvents:Persistence:Provider"] = PersistenceProviders.InMemory,
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("CertificatePath", error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string CreateSelfSignedPfx() => CreateSelfSignedPfx(_folder, "node.pfx", CertificatePassword).Path;

    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, as a .pfx in <paramref name="folder"/>; also its thumbprint.</summary>
    internal static (string Path, string Thumbprint) CreateSelfSignedPfx(string folder, string name, string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=actor-events-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = System.IO.Path.Combine(folder, name);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return (path, certificate.Thumbprint);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}
