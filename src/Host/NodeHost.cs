using ActorEvents.Actors.Hosting;
using ActorEvents.Broker;
using ActorEvents.Host.Domain;
using ActorEvents.Host.Domain.Shipping;
using ActorEvents.Host.Logging;
using ActorEvents.Host.Operations;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ActorEvents.Host;

/// <summary>Builds the Generic Host of one ActorEvents node with the sample domain.</summary>
public static class NodeHost
{
    /// <summary>Folder (next to the binaries) that holds the HOCON tuning files.</summary>
    public static string HoconFolder => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>
    /// Creates the host builder: appsettings.json, environment variables and command-line configuration,
    /// the ActorEvents runtime with the sample domain, and every <c>hocon/*.conf</c> prepended as tuning.
    /// </summary>
    /// <param name="args">Configuration arguments (<c>--ActorEvents:Section:Key=value</c>).</param>
    /// <param name="overrides">Extra in-memory settings that win over every other source (tests, CLI options).</param>
    public static HostApplicationBuilder CreateBuilder(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Logs go to stderr: stdout is the program's own output (tables, --json), which a script may parse.
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        // Behind a gate, so that the demo's live progress display is not broken up by log lines (they follow it).
        foreach (var registration in builder.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToArray())
        {
            builder.Services.Remove(registration);
        }

        builder.Services.AddSingleton<ILoggerProvider>(provider => new HeldConsoleLoggerProvider(new ConsoleLoggerProvider(
            provider.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(), provider.GetServices<ConsoleFormatter>())));
        builder.Services.AddSampleServices();
        // OTLP export of the ActorEvents metrics and traces, when ActorEvents:Operations:OtlpEndpoint is set.
        builder.Services.AddActorEventsTelemetry(OperationsOptions.From(builder.Configuration), prometheus: false);
        // With ActorEvents:Broker:Uri set, the sample publishes order.shipped notifications and consumes them (Domain/Shipping).
        var brokerConfigured = !string.IsNullOrWhiteSpace(builder.Configuration[$"{BrokerOptions.SectionName}:Uri"]);
        builder.Services.AddActorEvents(builder.Configuration, domain =>
        {
            domain.AddSampleDomain();
            if (brokerConfigured)
            {
                domain.AddSampleBroker(builder.Configuration["Sample:Shipping:Queue"] ?? ShippingNoticeSubscriber.Queue);
            }
        }, (akka, _) =>
        {
            foreach (var file in HoconFiles())
            {
                akka.AddHoconFile(file, HoconAddMode.Prepend);
            }

            // Akka's own minimal logger (start-up and shut-down lines, before and after the bridge below) writes to stderr too.
            akka.AddHocon(StandardErrorLogger.Hocon, HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
        });
        builder.Services.AddActorEventsBroker(builder.Configuration);
        return builder;
    }

    /// <summary>The HOCON tuning files, in name order.</summary>
    public static IEnumerable<string> HoconFiles() =>
        Directory.Exists(HoconFolder) ? Directory.GetFiles(HoconFolder, "*.conf").Order(StringComparer.Ordinal) : [];
}
