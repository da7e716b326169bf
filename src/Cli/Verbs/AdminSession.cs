using System.CommandLine;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Cli.Offline;
using ActorEvents.Cli.Remote;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ActorEvents.Cli.Verbs;

/// <summary>The two ways a verb reaches the dead letters and subscriptions: a running node's admin API, or the database's tables.</summary>
internal sealed class AdminSession : IAsyncDisposable
{
    /// <summary>How long one admin API request may take (a replay-all answers after its last entry).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(10);

    private readonly IHost _host;
    private readonly IAsyncDisposable? _owned;

    private AdminSession(IHost host, IDeadLetterAdmin deadLetters, ISubscriptionsClient subscriptions, bool remote, IAsyncDisposable? owned)
    {
        _host = host;
        DeadLetters = deadLetters;
        Subscriptions = subscriptions;
        Remote = remote;
        _owned = owned;
    }

    /// <summary>The dead letters.</summary>
    public IDeadLetterAdmin DeadLetters { get; }

    /// <summary>The subscriptions.</summary>
    public ISubscriptionsClient Subscriptions { get; }

    /// <summary>True through a node's admin API; false on the tables.</summary>
    public bool Remote { get; }

    /// <summary>The application's registered message types.</summary>
    public MessageTypeRegistry Types => _host.Services.GetRequiredService<ActorEventsDomain>().Types;

    /// <summary>
    /// Opens a session for the parsed command line. The application's host is built, never started here: with an admin
    /// URL only its registered types are read (no configuration is validated, no database opened).
    /// </summary>
    public static AdminSession Open(AdminCliSettings settings, ParseResult parse, AdminTargetOptions target)
    {
        var overrides = new Dictionary<string, string?>(settings.Overrides(parse), StringComparer.OrdinalIgnoreCase);
        if (overrides.Keys.Any(key => key.StartsWith($"{ActorEventsOptions.SectionName}:Node:SeedNodes", StringComparison.OrdinalIgnoreCase)))
        {
            throw new AdminUsageException("dlq and subscriptions join no cluster, so --seed is not used: give --admin-url, the operations endpoint of a running node " +
                "(serve --ActorEvents:Operations:Port=…); without it they work on the database's tables.");
        }

        // Akka's own lines about the node a replay starts are not what the operator asked for.
        overrides.TryAdd("Logging:LogLevel:Akka", "Error");
        var host = settings.CreateHostBuilder(parse, overrides).Build();
        if (target.Url(parse) is { } url)
        {
            var client = new HttpAdminClient(url, target.Token(parse), host.Services.GetRequiredService<ActorEventsDomain>().Types, RequestTimeout);
            return new AdminSession(host, client, client, remote: true, new DisposeAction(client.Dispose));
        }

        var options = host.Services.GetRequiredService<IOptions<ActorEventsOptions>>().Value;
        var deadLetters = new TableDeadLetterAdmin(host.Services.GetRequiredService<IDeadLetterStore>(), options.Node,
            replayOverrides => settings.CreateHostBuilder(parse, replayOverrides), overrides);
        return new AdminSession(host, deadLetters, SubscriptionsClients.ForTables(host.Services), remote: false, deadLetters);
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned is not null)
        {
            await _owned.DisposeAsync().ConfigureAwait(false);
        }

        _host.Dispose();
    }

    private sealed class DisposeAction(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The command line asks for something the verbs do not do.</summary>
/// <param name="message">What and why.</param>
internal sealed class AdminUsageException(string message) : Exception(message);
