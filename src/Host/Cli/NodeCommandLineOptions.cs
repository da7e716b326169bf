using System.CommandLine;
using ActorEvents.Actors.Configuration;

namespace ActorEvents.Host.Cli;

/// <summary>
/// Options of every command that map onto <c>ActorEvents</c> configuration keys. Given on the command line they win
/// over appsettings.json, environment variables and <c>--ActorEvents:…</c> arguments.
/// </summary>
public sealed class NodeCommandLineOptions
{
    private const string Section = ActorEventsOptions.SectionName;

    /// <summary><c>--provider</c>: ActorEvents:Persistence:Provider.</summary>
    public Option<string?> Provider { get; } = new("--provider")
    {
        Description = "Persistence provider (ActorEvents:Persistence:Provider). The connection string is read only from configuration or ActorEvents__Persistence__ConnectionString.",
        Recursive = true,
    };

    /// <summary><c>--port</c>: ActorEvents:Node:Port.</summary>
    public Option<int?> Port { get; } = new("--port")
    {
        Description = "Remoting port of this node, 0 for any free port (ActorEvents:Node:Port).",
        Recursive = true,
    };

    /// <summary><c>--hostname</c>: ActorEvents:Node:Hostname.</summary>
    public Option<string?> Hostname { get; } = new("--hostname")
    {
        Description = "Interface remoting binds to (ActorEvents:Node:Hostname).",
        Recursive = true,
    };

    /// <summary><c>--seed</c> (repeatable): ActorEvents:Node:SeedNodes:N.</summary>
    public Option<string[]> Seeds { get; } = new("--seed")
    {
        Description = "Seed node address, e.g. akka.tcp://actor-events@10.0.0.5:4053; repeat for several (ActorEvents:Node:SeedNodes).",
        Recursive = true,
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>Creates the options.</summary>
    public NodeCommandLineOptions()
    {
        Provider.AcceptOnlyFromAmong(PersistenceProviders.Sqlite, PersistenceProviders.PostgreSql, PersistenceProviders.InMemory);
        Port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0 or > 65535)
            {
                result.AddError("--port must be between 0 and 65535.");
            }
        });
    }

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [Provider, Port, Hostname, Seeds];

    /// <summary>The configuration overrides for the options that were given.</summary>
    public Dictionary<string, string?> Overrides(ParseResult parseResult)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (parseResult.GetValue(Provider) is { } provider)
        {
            overrides[$"{Section}:Persistence:Provider"] = provider;
        }

        if (parseResult.GetValue(Port) is { } port)
        {
            overrides[$"{Section}:Node:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (parseResult.GetValue(Hostname) is { } hostname)
        {
            overrides[$"{Section}:Node:Hostname"] = hostname;
        }

        var seeds = parseResult.GetValue(Seeds) ?? [];
        for (var i = 0; i < seeds.Length; i++)
        {
            overrides[$"{Section}:Node:SeedNodes:{i}"] = seeds[i];
        }

        return overrides;
    }
}
