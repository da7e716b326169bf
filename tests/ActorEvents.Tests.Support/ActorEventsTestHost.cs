using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// A started one-node ActorEvents host for the framework's tests: the TestKit's <see cref="TestNode"/> (the production
/// <see cref="ActorEventsHostingExtensions.AddActorEvents"/> wiring on 127.0.0.1) with the test assembly's
/// <see cref="TestDomain.Default"/> unless a test registers its own.
/// </summary>
public sealed class ActorEventsTestHost : IAsyncDisposable
{
    private readonly TestNode _node;

    private ActorEventsTestHost(TestNode node) => _node = node;

    /// <summary>The Generic Host.</summary>
    public IHost Host => _node.Host;

    /// <summary>The host's actor system.</summary>
    public ActorSystem System => _node.System;

    /// <summary>The Akka.Hosting actor registry (shard regions, mediator).</summary>
    public ActorRegistry Registry => _node.Registry;

    /// <summary>The client facade.</summary>
    public IActorEventsClient Client => _node.Client;

    /// <summary>Address of this node, as stamped on events.</summary>
    public string SelfAddress => _node.Address;

    /// <summary>Default test settings (relative to the <c>ActorEvents</c> section); <paramref name="overrides"/> win.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = TestNode.DefaultSettings();
        settings["Aggregates:PassivateAfter"] = "00:01:00";
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
    /// test assembly's default domain and its services unless <paramref name="configureDomain"/> registers another domain.
    /// </summary>
    /// <param name="settings">Settings relative to the <c>ActorEvents</c> section.</param>
    /// <param name="configureDomain">Another domain than the default.</param>
    /// <param name="extraHocon">HOCON prepended to the node's configuration.</param>
    /// <param name="services">Services the domain's handlers need.</param>
    public static IHost Build(IReadOnlyDictionary<string, string?> settings, Action<ActorEventsDomainBuilder>? configureDomain = null, string? extraHocon = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null) =>
        TestNode.Build(configureDomain ?? TestDomain.Default.Configure, settings, collection =>
        {
            if (configureDomain is null)
            {
                TestDomain.Default.AddServices(collection);
            }

            services?.Invoke(collection);
        }, extraHocon);

    /// <summary>Builds and starts a host with the default domain (or <paramref name="configureDomain"/>) and waits until the node is Up.</summary>
    public static Task<ActorEventsTestHost> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null, Action<ActorEventsDomainBuilder>? configureDomain = null) =>
        StartAsync(Build(settings ?? Settings(), configureDomain));

    /// <summary>Starts a built host and waits until its one-node cluster is Up.</summary>
    public static async Task<ActorEventsTestHost> StartAsync(IHost host) => new(await TestNode.StartAsync(host));

    /// <summary>Sends a command through the client facade.</summary>
    public Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null) => _node.SendAsync(command, metadata);

    /// <summary>Sends a command and asserts it was accepted.</summary>
    public Task<CommandAccepted> AcceptAsync(ICommand command, CommandMetadata? metadata = null) => _node.AcceptAsync(command, metadata);

    /// <summary>The envelopes the journal holds for a stream.</summary>
    public Task<IReadOnlyList<EventEnvelope>> ReadStreamAsync(string aggregateType, string aggregateId) => _node.ReadStreamAsync(aggregateType, aggregateId);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _node.DisposeAsync();
}
