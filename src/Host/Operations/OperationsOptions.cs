using System.ComponentModel.DataAnnotations;

namespace ActorEvents.Host.Operations;

/// <summary>
/// What <c>serve</c> offers operators (section <c>ActorEvents:Operations</c>): one HTTP port with the Prometheus scrape
/// endpoint (<c>/metrics</c>), liveness (<c>/healthz</c>), readiness (<c>/ready</c>) and the admin API (<c>/admin/…</c>); and an OTLP exporter of the
/// <c>ActorEvents</c> metrics and traces when an endpoint is configured (every verb).
/// </summary>
public sealed class OperationsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "ActorEvents:Operations";

    /// <summary>Port of the HTTP endpoint of <c>serve</c>; null (the default) or 0 serves none.</summary>
    [Range(0, 65535)]
    public int? Port { get; set; }

    /// <summary>Interface the HTTP endpoint listens on: loopback by default (a container that is scraped from outside sets 0.0.0.0).</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>
    /// Serve the admin API (<c>/admin/…</c>: dead letters and subscriptions, what <c>dlq</c> and <c>subscriptions</c> with
    /// <c>--admin-url</c> use) on the same port. On by default; on an interface other than loopback it is served only with an
    /// <see cref="AdminToken"/>.
    /// </summary>
    public bool Admin { get; set; } = true;

    /// <summary>Bearer token every admin API request must carry (<c>Authorization: Bearer …</c>); none: no token is asked for (loopback only).</summary>
    public string? AdminToken { get; set; }

    /// <summary>OTLP endpoint (e.g. <c>http://127.0.0.1:4317</c>) that receives the metrics and traces; none: no OTLP exporter.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default, port 4317) or <c>http/protobuf</c> (port 4318).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>The OpenTelemetry <c>service.name</c> of this node's telemetry.</summary>
    public string ServiceName { get; set; } = "actor-events";

    /// <summary>The options as configured.</summary>
    public static OperationsOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        Microsoft.Extensions.Configuration.ConfigurationBinder.Get<OperationsOptions>(configuration.GetSection(SectionName)) ?? new OperationsOptions();
}
