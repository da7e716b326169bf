using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.TestKit;

/// <summary>
/// An in-process ActorEvents node for integration tests: a Generic Host wired with the production
/// <see cref="ActorEventsHostingExtensions.AddActorEvents"/> (the same mediator, aggregates, pools, subscriptions and
/// serializer as in production), a one-node cluster on 127.0.0.1 with a free port, the in-memory journal unless the
/// settings name a database, warnings-only Akka logging. <see cref="StartAsync(Action{ActorEventsDomainBuilder}, IReadOnlyDictionary{string, string}, Action{IServiceCollection}, string)"/>
/// returns once the node is an Up member.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private TestNode(IHost host)
    {
        Host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Registry = host.Services.GetRequiredService<ActorRegistry>();
    }

    /// <summary>The Generic Host.</summary>
    public IHost Host { get; }

    /// <summary>Its services.</summary>
    public IServiceProvider Services => Host.Services;

    /// <summary>Its actor system.</summary>
    public ActorSystem System { get; }

    /// <summary>The Akka.Hosting actor registry (shard regions, <see cref="CommandMediator"/>, offices).</summary>
    public ActorRegistry Registry { get; }

    /// <summary>The client facade (of a host wired with <see cref="ActorEventsHostingExtensions.AddActorEvents"/>).</summary>
    public IActorEventsClient Client => Host.Services.GetRequiredService<IActorEventsClient>();

    /// <summary>This node's address, as stamped on its events.</summary>
    public string Address => Cluster.Get(System).SelfAddress.ToString();

    /// <summary>
    /// The settings a test node starts from (keys relative to the <c>ActorEvents</c> section): 127.0.0.1, a free port, the
    /// in-memory journal, 20 shards, a 10 s command timeout.
    /// </summary>
    public static Dictionary<string, string?> DefaultSettings() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Node:Hostname"] = "127.0.0.1",
        ["Node:Port"] = "0",
        ["Persistence:Provider"] = PersistenceProviders.InMemory,
        ["Aggregates:NumberOfShards"] = "20",
        ["Mediator:CommandTimeout"] = "00:00:10",
    };

    /// <summary>Builds (does not start) the host of a test node.</summary>
    /// <param name="domain">The domain, as the application registers it.</param>
    /// <param name="settings">Settings over <see cref="DefaultSettings"/> (keys relative to the <c>ActorEvents</c> section).</param>
    /// <param name="services">Services the domain's handlers need.</param>
    /// <param name="hocon">HOCON prepended to the node's configuration.</param>
    public static IHost Build(Action<ActorEventsDomainBuilder> domain, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null, string? hocon = null)
    {
        var merged = DefaultSettings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(merged.Select(s => new KeyValuePair<string, string?>($"{ActorEventsOptions.SectionName}:{s.Key}", s.Value)));
        services?.Invoke(builder.Services);
        builder.Services.AddActorEvents(builder.Configuration, domain, (akka, _) =>
        {
            akka.ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel);
            if (hocon is not null)
            {
                akka.AddHocon(hocon, HoconAddMode.Prepend);
            }
        });
        return builder.Build();
    }

    /// <summary>Builds and starts a test node and waits until it is an Up member of its one-node cluster.</summary>
    /// <param name="domain">The domain, as the application registers it.</param>
    /// <param name="settings">Settings over <see cref="DefaultSettings"/>.</param>
    /// <param name="services">Services the domain's handlers need.</param>
    /// <param name="hocon">HOCON prepended to the node's configuration.</param>
    public static Task<TestNode> StartAsync(Action<ActorEventsDomainBuilder> domain, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null, string? hocon = null) =>
        StartAsync(Build(domain, settings, services, hocon));

    /// <summary>
    /// Starts a built host (one of <see cref="Build"/>, or an application's own with an Akka.NET cluster) and waits until the
    /// node is Up (at most <paramref name="upWithin"/>, 20 s by default); disposes the host when that fails.
    /// </summary>
    public static async Task<TestNode> StartAsync(IHost host, TimeSpan? upWithin = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            var node = new TestNode(host);
            await node.WaitUntilUpAsync(upWithin ?? TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            return node;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Sends a command through the client facade.</summary>
    public Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null) => Client.SendAsync(command, metadata);

    /// <summary>Sends a command and expects it accepted.</summary>
    /// <exception cref="ScenarioAssertionException">It was rejected.</exception>
    public async Task<CommandAccepted> AcceptAsync(ICommand command, CommandMetadata? metadata = null)
    {
        var result = await SendAsync(command, metadata).ConfigureAwait(false);
        return result as CommandAccepted ?? throw new ScenarioAssertionException($"Expected {command} to be accepted, got {result}.");
    }

    /// <summary>The envelopes the journal holds for one aggregate (read back by replaying it, snapshots passed over).</summary>
    public Task<IReadOnlyList<EventEnvelope>> ReadStreamAsync(string aggregateType, string aggregateId) =>
        JournalReader.ReadAsync(System, StreamNames.For(aggregateType, aggregateId));

    private async Task WaitUntilUpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cluster = Cluster.Get(System);
        var deadline = DateTime.UtcNow + timeout;
        while (cluster.SelfMember.Status != MemberStatus.Up)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Node {cluster.SelfAddress} did not become Up within {timeout}.");
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the node (coordinated shutdown, at most 20 s) and disposes its host.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await Host.StopAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            Host.Dispose();
        }
    }
}
