using System.Net;
using System.Text.Json;
using ActorEvents.Actors.Hosting;
using ActorEvents.Cli.AdminApi;
using ActorEvents.Host.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorEvents.Host.Operations;

/// <summary>
/// The HTTP port of <c>serve</c> (<see cref="OperationsOptions.Port"/>): <c>/metrics</c> (Prometheus text format of the
/// <c>ActorEvents</c> meter), <c>/healthz</c> (liveness) and <c>/ready</c> (readiness) from the node's health checks, and
/// the admin API (<see cref="AdminApiEndpoints"/>) when <see cref="AdminApiServed"/>.
/// Health answers 200 when every check of its tag is healthy, else 503, with a JSON body naming each check.
/// </summary>
public sealed class OperationsEndpoint : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly WebApplication _app;

    private OperationsEndpoint(WebApplication app) => _app = app;

    /// <summary>Where it listens.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Whether the admin API (<c>/admin/…</c>) is served.</summary>
    public bool ServesAdmin { get; private set; }

    /// <summary>Starts the endpoint next to a started node; null when no port is configured.</summary>
    /// <param name="node">The node's host: its health checks are served.</param>
    /// <param name="options">The operations options.</param>
    public static async Task<OperationsEndpoint?> StartAsync(IHost node, OperationsOptions options)
    {
        if (options.Port is not ({ } port and > 0))
        {
            return null;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        foreach (var provider in node.Services.GetServices<ILoggerProvider>())
        {
            builder.Logging.AddProvider(new NonDisposingProvider(provider));
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Parse(options.Hostname), port));
        builder.Services.AddActorEventsTelemetry(options, prometheus: true);
        var app = builder.Build();
        var health = node.Services.GetRequiredService<HealthCheckService>();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", context => Report(context, health, ActorEventsHealthChecks.LiveTag));
        app.MapGet("/ready", context => Report(context, health, ActorEventsHealthChecks.ReadyTag));
        var admin = AdminApiServed(options);
        if (admin)
        {
            app.MapActorEventsAdmin(node.Services, options.AdminToken);
        }
        else if (options.Admin)
        {
            NodeLog.AdminNeedsToken(node.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ActorEvents.Host.Operations"), options.Hostname);
        }

        await app.StartAsync().ConfigureAwait(false);
        return new OperationsEndpoint(app) { Address = new Uri($"http://{options.Hostname}:{port}/"), ServesAdmin = admin };
    }

    /// <summary>Whether the admin API is on: asked for, and on loopback or with a token.</summary>
    public static bool AdminApiServed(OperationsOptions options) =>
        options.Admin && (!string.IsNullOrEmpty(options.AdminToken) || IPAddress.TryParse(options.Hostname, out var address) && IPAddress.IsLoopback(address)
            || string.Equals(options.Hostname, "localhost", StringComparison.OrdinalIgnoreCase));

    private static async Task Report(HttpContext context, HealthCheckService health, string tag)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(tag), context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = report.Status == HealthStatus.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, Json), context.RequestAborted).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The node's logger providers, shared: the node disposes them, not this endpoint.</summary>
    private sealed class NonDisposingProvider(ILoggerProvider inner) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => inner.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
