using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Host;
using ActorEvents.Host.Domain;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// A started one-node ActorEvents host, built with the production extension methods
/// (<see cref="ActorEventsHostingExtensions.AddActorEvents"/> or <see cref="NodeHost.CreateBuilder"/>) and test
/// overrides: random port on 127.0.0.1, in-memory or temp-file SQLite persistence, short timeouts.
/// </summary>
public sealed class ActorEventsTestHost : IAsyncDisposable
{
    private ActorEventsTestHost(IHost host)
    {
        Host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Registry = host.Services.GetRequiredService<ActorRegistry>();
        Client = host.Services.GetRequiredService<IActorEventsClient>();
    }

    /// <summary>The Generic Host.</summary>
    public IHost Host { get; }

    /// <summary>The host's actor system.</summary>
    public ActorSystem System { get; }

    /// <summary>The Akka.Hosting actor registry (shard regions, mediator).</summary>
    public ActorRegistry Registry { get; }

    /// <summary>The client facade.</summary>
    public IActorEventsClient Client { get; }

    /// <summary>Default test settings (relative to the <c>ActorEvents</c> section); <paramref name="overrides"/> win.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Node:Hostname"] = "127.0.0.1",
            ["Node:Port"] = "0",
            ["Persistence:Provider"] = PersistenceProviders.InMemory,
            ["Aggregates:NumberOfShards"] = "20",
            ["Aggregates:PassivateAfter"] = "00:01:00",
            ["Mediator:CommandTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Settings for a SQLite database file.</summary>
    public static Dictionary<string, string?> SqliteSettings(TempSqliteDatabase database, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = Settings(overrides);
        settings["Persistence:Provider"] = PersistenceProviders.Sqlite;
        settings["Persistence:ConnectionString"] = database.ConnectionString;
        return settings;
    }

    /// <summary>
    /// Builds (does not start) a host the way an application does: <c>services.AddActorEvents(...)</c>, with the
    /// sample domain and its services unless <paramref name="configureDomain"/> registers another domain.
    /// </summary>
    /// <param name="settings">Settings relative to the <c>ActorEvents</c> section.</param>
    /// <param name="configureDomain">Another domain than the sample's.</param>
    /// <param name="extraHocon">HOCON prepended to the node's configuration.</param>
    /// <param name="services">Services the domain's handlers need.</param>
    public static IHost Build(IReadOnlyDictionary<string, string?> settings, Action<ActorEventsDomainBuilder>? configureDomain = null, string? extraHocon = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s =>
            new KeyValuePair<string, string?>($"{ActorEventsOptions.SectionName}:{s.Key}", s.Value)));
        if (configureDomain is null)
        {
            builder.Services.AddSampleServices();
        }

        services?.Invoke(builder.Services);

        builder.Services.AddActorEvents(builder.Configuration, configureDomain ?? (domain => domain.AddSampleDomain()), (akka, _) =>
        {
            akka.ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel);
            if (extraHocon is not null)
            {
                akka.AddHocon(extraHocon, HoconAddMode.Prepend);
            }
        });
        return builder.Build();
    }

    /// <summary>Builds (does not start) a host through <see cref="NodeHost.CreateBuilder"/>, the entry point of the real node.</summary>
    public static IHost BuildNodeHost(IReadOnlyDictionary<string, string?> settings) =>
        NodeHost.CreateBuilder([], settings.ToDictionary(s => $"{ActorEventsOptions.SectionName}:{s.Key}", s => s.Value)).Build();

    /// <summary>Builds and starts a host with the sample domain (or <paramref name="configureDomain"/>) and waits until the node is Up.</summary>
    public static Task<ActorEventsTestHost> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null, Action<ActorEventsDomainBuilder>? configureDomain = null) =>
        StartAsync(Build(settings ?? Settings(), configureDomain));

    /// <summary>Starts a built host and waits until its one-node cluster is Up.</summary>
    public static async Task<ActorEventsTestHost> StartAsync(IHost host)
    {
        try
        {
            await host.StartAsync();
            var started = new ActorEventsTestHost(host);
            await started.WaitUntilUpAsync(TimeSpan.FromSeconds(20));
            return started;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Sends a command through the client facade.</summary>
    public Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null) => Client.SendAsync(command, metadata);

    /// <summary>Sends a command and asserts it was accepted.</summary>
    public async Task<CommandAccepted> AcceptAsync(ICommand command, CommandMetadata? metadata = null)
    {
        var result = await SendAsync(command, metadata);
        return result as CommandAccepted
            ?? throw new Xunit.Sdk.XunitException($"Expected {command} to be accepted, got {result}.");
    }

    /// <summary>The envelopes the journal holds for a stream.</summary>
    public Task<IReadOnlyList<EventEnvelope>> ReadStreamAsync(string aggregateType, string aggregateId) =>
        JournalReader.ReadAsync(System, StreamNames.For(aggregateType, aggregateId));

    /// <summary>Address of this node, as stamped on events.</summary>
    public string SelfAddress => Cluster.Get(System).SelfAddress.ToString();

    private async Task WaitUntilUpAsync(TimeSpan timeout)
    {
        var cluster = Cluster.Get(System);
        var deadline = DateTime.UtcNow + timeout;
        while (cluster.SelfMember.Status != MemberStatus.Up)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Node {cluster.SelfAddress} did not become Up within {timeout}.");
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await Host.StopAsync(stop.Token);
        }
        finally
        {
            Host.Dispose();
        }
    }
}
