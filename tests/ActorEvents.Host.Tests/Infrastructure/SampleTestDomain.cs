using System.Runtime.CompilerServices;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Domain;
using Microsoft.Extensions.Hosting;

namespace ActorEvents.Host.Tests.Infrastructure;

/// <summary>The sample domain as the default of this assembly's test hosts, and the sample's own node builder.</summary>
public static class SampleTestDomain
{
    /// <summary>The sample's aggregates, handlers, subscriptions and services.</summary>
    public static TestDomain Domain { get; } = new("the sample domain", domain => domain.AddSampleDomain(), services => services.AddSampleServices());

    [ModuleInitializer]
    internal static void UseSampleDomain() => Domain.UseAsDefault();

    /// <summary>Builds (does not start) a host through <see cref="NodeHost.CreateBuilder"/>, the entry point of the real node.</summary>
    /// <param name="settings">Settings relative to the <c>ActorEvents</c> section.</param>
    public static IHost BuildNodeHost(IReadOnlyDictionary<string, string?> settings) =>
        NodeHost.CreateBuilder([], settings.ToDictionary(s => $"{ActorEventsOptions.SectionName}:{s.Key}", s => s.Value)).Build();
}
