using ActorEvents.Actors.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ActorEvents.Host.Operations;

/// <summary>OpenTelemetry wiring of the host: the <c>ActorEvents</c> meter and activity source, and the exporters configured.</summary>
public static class Telemetry
{
    /// <summary>
    /// Adds OpenTelemetry with the <c>ActorEvents</c> meter and activity source: an OTLP exporter of both when
    /// <see cref="OperationsOptions.OtlpEndpoint"/> is set, and the Prometheus scrape exporter when <paramref name="prometheus"/>.
    /// Adds nothing when neither is wanted.
    /// </summary>
    public static IServiceCollection AddActorEventsTelemetry(this IServiceCollection services, OperationsOptions options, bool prometheus)
    {
        var otlp = !string.IsNullOrWhiteSpace(options.OtlpEndpoint);
        if (!otlp && !prometheus)
        {
            return services;
        }

        var builder = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(options.ServiceName));
        builder.WithMetrics(metrics =>
        {
            metrics.AddMeter(ActorEventsTelemetry.Name);
            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp)
            {
                metrics.AddOtlpExporter(exporter => Configure(exporter, options));
            }
        });
        if (otlp)
        {
            builder.WithTracing(tracing => tracing.AddSource(ActorEventsTelemetry.Name).AddOtlpExporter(exporter => Configure(exporter, options)));
        }

        return services;
    }

    private static void Configure(OtlpExporterOptions exporter, OperationsOptions options)
    {
        exporter.Endpoint = new Uri(options.OtlpEndpoint!);
        exporter.Protocol = string.Equals(options.OtlpProtocol, "http/protobuf", StringComparison.OrdinalIgnoreCase)
            ? OtlpExportProtocol.HttpProtobuf
            : OtlpExportProtocol.Grpc;
    }
}
