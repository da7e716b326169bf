using System.CommandLine;
using System.Text.Json;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Supervision;
using ActorEvents.Cli;
using ActorEvents.Messages;
using ActorEvents.Tests.Clustering;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Tests.Cli;

/// <summary>
/// <see cref="AdminCommands"/> in an application's own command line and host (not the sample's): a domain of its own,
/// a durable handler fed by a subscription, a SQLite file; the verbs run in-process on its tables.
/// </summary>
public sealed class AdminCommandsLibraryTests : IDisposable
{
    private readonly TempSqliteDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Should_give_an_applications_own_host_the_dlq_and_subscriptions_verbs()
    {
        var (status, statusOutput) = await RunAsync("subscriptions", "status", "--json");
        Assert.True(status == 0, statusOutput);
        var subscription = Assert.Single(JsonDocument.Parse(statusOutput).RootElement.EnumerateArray());
        Assert.Equal(("relay-poison", "NotRunning"), (subscription.GetProperty("name").GetString(), subscription.GetProperty("state").GetString()));

        var (paused, pauseOutput) = await RunAsync("subscriptions", "pause", "relay-poison");
        Assert.True(paused == 0, pauseOutput);
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM ae_checkpoints WHERE subscription = 'relay-poison' AND paused"));

        // A dead letter of the application's durable handler, replayed by a node of the application's host started for it.
        var store = new SqlDeadLetterStore("SQLite.MS", _database.ConnectionString, Domain().Types);
        await store.InitializeAsync();
        var envelope = new EventEnvelope(Guid.CreateVersion7().ToString("N"), "relay.sent", 1, DateTimeOffset.UtcNow, "akka.tcp://actor-events@127.0.0.1:1",
            "relay", "relay-lib", 1, "corr-lib", "cmd-lib", null, new RelaySent("relay-lib", 1));
        var id = await store.AddAsync(new NewDeadLetter("RelayPoison", envelope, new HandlerFailure("Boom", "failed", null, false), 3, DateTimeOffset.UtcNow));
        var (listed, listing) = await RunAsync("dlq", "list", "--json");
        Assert.True(listed == 0, listing);
        Assert.Equal(id, Assert.Single(JsonDocument.Parse(listing).RootElement.EnumerateArray()).GetProperty("id").GetInt64());

        var (replayed, replayOutput) = await RunAsync("dlq", "replay", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(replayed == 0, replayOutput);
        Assert.Null(await store.GetAsync(id));
        // The guarded durable handler recorded the event as processed: it ran in the application's own pipeline.
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE handler = 'RelayPoison' AND event_id = $id", ("$id", envelope.EventId)));
    }

    private static ActorEventsDomain Domain()
    {
        var domain = new ActorEventsDomainBuilder();
        Configure(domain);
        return domain.Build();
    }

    private static void Configure(ActorEventsDomainBuilder domain) =>
        domain.AddAggregate<RelayAggregate>()
            .AddHandler<RelayPoison>(h => h.Delivery = HandlerDelivery.Durable)
            .AddSubscription("relay-poison", s =>
            {
                s.ForEvent("relay.sent");
                s.Feed<RelayPoison>();
            });

    /// <summary>The application's root command with the library's verbs, on its own host builder.</summary>
    private async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer) });
        console.Profile.Width = 240;
        var root = new RootCommand("an application of its own");
        foreach (var command in AdminCommands.Create(new AdminCliSettings
        {
            Console = console,
            CreateHostBuilder = (_, overrides) =>
            {
                var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["ActorEvents:Persistence:Provider"] = PersistenceProviders.Sqlite,
                    ["ActorEvents:Persistence:ConnectionString"] = _database.ConnectionString,
                    ["ActorEvents:Node:Port"] = "0",
                });
                builder.Configuration.AddInMemoryCollection(overrides);
                builder.Services.AddActorEvents(builder.Configuration, Configure);
                return builder;
            },
        }))
        {
            root.Subcommands.Add(command);
        }

        var exitCode = await root.Parse(args).InvokeAsync();
        return (exitCode, writer.ToString());
    }
}
