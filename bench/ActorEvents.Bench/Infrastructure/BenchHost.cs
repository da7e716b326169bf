using System.Globalization;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Persistence;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Bench.Domain;
using ActorEvents.Broker;
using ActorEvents.Messages;
using ActorEvents.TestKit;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Bench.Infrastructure;

/// <summary>Settings of a production-runtime host for the bench domain.</summary>
internal sealed record PipelineHostSettings
{
    public int HandlersPerEvent { get; init; } = 1;

    public int? MaxConcurrentHandlers { get; init; }

    public bool Parallel { get; init; } = true;

    public EventOrdering Ordering { get; init; } = EventOrdering.PerAggregate;

    public ReplyMode ReplyMode { get; init; } = ReplyMode.AfterHandlers;

    public int SnapshotEvery { get; init; }

    public TimeSpan? PassivateAfter { get; init; }

    public int Shards { get; init; } = 100;

    public HandlerWork Work { get; init; } = HandlerWork.None;

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public bool HoconTuning { get; init; } = true;

    public JournalWriter JournalWriter { get; init; } = JournalWriter.GroupCommit;

    /// <summary>Projections (<see cref="BenchProjector"/>) reading the bench aggregate's tag.</summary>
    public int Projections { get; init; }

    /// <summary><c>Subscriptions:SharedJournalHead</c>: one head watch per node (true), or each subscription polling (false).</summary>
    public bool SharedJournalHead { get; init; } = true;

    /// <summary>The broker wiring (<c>broker</c> scenario): notifications of <see cref="BenchEvent"/> published and consumed; null: no broker.</summary>
    public BenchBrokerSettings? Broker { get; init; }

    /// <summary><c>Subscriptions:SourcePollInterval</c>; null: the runtime's (100 ms).</summary>
    public TimeSpan? SourcePollInterval { get; init; }

    public static PipelineHostSettings From(BenchOptions options) => new()
    {
        HandlersPerEvent = options.HandlersPerEvent,
        MaxConcurrentHandlers = options.MaxConcurrentHandlers,
        Parallel = options.Parallel,
        Ordering = options.Ordering,
        ReplyMode = options.ReplyMode,
        SnapshotEvery = options.SnapshotEvery,
        Shards = options.Shards,
        Work = options.HandlerWork ?? HandlerWork.None,
        HoconTuning = options.HoconTuning,
        JournalWriter = options.JournalWriter,
        SourcePollInterval = options.SourcePollInterval,
    };
}

/// <summary>
/// A one-node ActorEvents host for the bench domain, built exactly as an application builds one:
/// <see cref="ActorEventsHostingExtensions.AddActorEvents"/> on a Generic Host, cluster on 127.0.0.1 with a random port.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private BenchHost(IHost host)
    {
        Host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Client = host.Services.GetRequiredService<IActorEventsClient>();
        Workload = host.Services.GetRequiredService<BenchWorkload>();
        Load = host.Services.GetRequiredService<EventPipelineLoad>();
        Registry = host.Services.GetRequiredService<ActorRegistry>();
        ReadSide = host.Services.GetRequiredService<BenchReadSide>();
        Database = host.Services.GetRequiredService<ActorEventsDatabase>();
    }

    public IHost Host { get; }

    public ActorSystem System { get; }

    public IActorEventsClient Client { get; }

    public BenchWorkload Workload { get; }

    public EventPipelineLoad Load { get; }

    public ActorRegistry Registry { get; }

    public BenchReadSide ReadSide { get; }

    public ActorEventsDatabase Database { get; }

    public static Dictionary<string, string?> Configuration(BenchDb db, PipelineHostSettings settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Node:ActorSystemName"] = "bench-pipeline",
            ["Node:Hostname"] = "127.0.0.1",
            ["Node:Port"] = "0",
            ["Persistence:Provider"] = db.Provider,
            ["Persistence:ConnectionString"] = db.IsDurable ? db.ConnectionString : null,
            ["Persistence:JournalWriter"] = settings.JournalWriter.ToString(),
            ["Aggregates:SnapshotEvery"] = settings.SnapshotEvery.ToString(CultureInfo.InvariantCulture),
            ["Aggregates:NumberOfShards"] = settings.Shards.ToString(CultureInfo.InvariantCulture),
            ["Mediator:CommandTimeout"] = settings.CommandTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Pipeline:ConcurrentEventHandleEnable"] = settings.Parallel ? "true" : "false",
            ["Pipeline:Ordering"] = settings.Ordering.ToString(),
            ["Pipeline:ReplyMode"] = settings.ReplyMode.ToString(),
            ["Subscriptions:SharedJournalHead"] = settings.SharedJournalHead ? "true" : "false",
        };
        if (settings.Broker is { } broker)
        {
            values["Broker:Uri"] = broker.Uri;
            values["Broker:Exchange"] = broker.Exchange;
            values["Broker:Source"] = "actorevents-bench";
        }

        if (settings.SourcePollInterval is { } sourcePoll)
        {
            values["Subscriptions:SourcePollInterval"] = sourcePoll.ToString("c", CultureInfo.InvariantCulture);
        }

        if (settings.MaxConcurrentHandlers is { } max)
        {
            values["Pipeline:MaxConcurrentEventHandlers"] = max.ToString(CultureInfo.InvariantCulture);
        }

        if (settings.PassivateAfter is { } passivate)
        {
            values["Aggregates:PassivateAfter"] = passivate.ToString("c", CultureInfo.InvariantCulture);
        }

        return values.ToDictionary(pair => $"{ActorEventsOptions.SectionName}:{pair.Key}", pair => pair.Value);
    }

    public static async Task<BenchHost> StartAsync(BenchDb db, PipelineHostSettings settings, CancellationToken cancellationToken = default)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(Configuration(db, settings));
        ConfigureLogging(builder.Logging);
        builder.Services.AddSingleton(new BenchWorkload { Work = settings.Work });
        builder.Services.AddSingleton<BenchReadSide>();
        builder.Services.AddSingleton<BenchBrokerSide>();
        builder.Services.AddActorEvents(builder.Configuration, domain =>
            {
                domain.AddBenchDomain(settings.HandlersPerEvent);
                for (var i = 0; i < settings.Projections; i++)
                {
                    domain.AddProjection<BenchProjector>(BenchReadSide.ProjectionName(i), projection => projection.Tag = BenchReadSide.Tag);
                }

                if (settings.Broker is { } broker)
                {
                    domain.AddBenchBroker(broker);
                }
            },
            (akka, _) =>
            {
                if (settings.HoconTuning)
                {
                    JournalTuning.Apply(akka);
                }

                ConfigureAkkaLogging(akka);
            });
        if (settings.Broker is not null)
        {
            builder.Services.AddActorEventsBroker(builder.Configuration);
        }

        var host = builder.Build();
        return new BenchHost(await StartAndWaitUpAsync(host, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Warnings and errors go to standard error, so they neither vanish nor mix into the result table.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    public static void ConfigureAkkaLogging(AkkaConfigurationBuilder akka) =>
        akka.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = Akka.Event.LogLevel.WarningLevel;
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });

    /// <summary>Starts a host and waits until its one-node cluster is Up (the TestKit's start, at most 30 s).</summary>
    public static async Task<IHost> StartAndWaitUpAsync(IHost host, CancellationToken cancellationToken) =>
        (await TestNode.StartAsync(host, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false)).Host;

    public static async Task StopAsync(IHost host)
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            host.Dispose();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync(Host));
}

/// <summary>The node's HOCON tuning files (copied next to the bench binaries from <c>hocon/</c>).</summary>
internal static class JournalTuning
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>Every <c>hocon/*.conf</c> except logging (the bench keeps Akka at warnings), in name order.</summary>
    public static IEnumerable<string> Files() =>
        Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, "*.conf").Where(f => Path.GetFileName(f) != "logging.conf").Order(StringComparer.Ordinal)
            : [];

    /// <summary>Prepends the tuning files, as the node host does after the runtime's own HOCON.</summary>
    public static void Apply(AkkaConfigurationBuilder akka)
    {
        foreach (var file in Files())
        {
            akka.AddHoconFile(file, HoconAddMode.Prepend);
        }
    }

    /// <summary>The journal settings in effect and, for the group-commit writer, its transactions so far, for the notes of a result.</summary>
    public static string Describe(ActorSystem system)
    {
        var config = system.Settings.Config;
        var plugin = config.GetString("akka.persistence.journal.plugin", string.Empty);
        if (!plugin.EndsWith(".sql", StringComparison.Ordinal))
        {
            return $"journal {plugin}";
        }

        var sql = config.GetConfig(plugin);
        var journalClass = sql.GetString("class", string.Empty);
        var writer = journalClass.Split(',')[0].Split('.')[^1];
        var described = string.Create(CultureInfo.InvariantCulture,
            $"journal {writer} parallelism={sql.GetInt("parallelism")} batch-size={sql.GetInt("batch-size")} buffer-size={sql.GetInt("buffer-size")}");
        if (journalClass != PersistenceHocon.JournalClassOf(JournalWriter.GroupCommit))
        {
            return described;
        }

        try
        {
            var stats = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null)
                .Ask<JournalWriteStats>(GetJournalWriteStats.Instance, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            return described + string.Create(CultureInfo.InvariantCulture,
                $", {stats.RowsPerTransaction:0.0} events per transaction ({stats.Transactions:N0} transactions, {stats.FailedTransactions} failed, whole run)");
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return described + ", transactions unknown (the journal did not answer)";
        }
    }
}
