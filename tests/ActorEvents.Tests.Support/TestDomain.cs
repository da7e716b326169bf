using ActorEvents.Actors.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// The domain a test assembly's hosts run when a test does not register its own: the framework's tests use their
/// fixture domain, the sample's tests the sample's. A test assembly names it once, from a module initializer, before
/// any test runs (<see cref="UseAsDefault"/>).
/// </summary>
/// <param name="Name">What the domain is, for failure messages.</param>
/// <param name="Configure">Registers its aggregates, handlers and subscriptions.</param>
/// <param name="AddServices">Registers the services its handlers need.</param>
public sealed record TestDomain(string Name, Action<ActorEventsDomainBuilder> Configure, Action<IServiceCollection> AddServices)
{
    private static TestDomain? _default;

    /// <summary>The domain of this test assembly's hosts.</summary>
    public static TestDomain Default => _default ?? throw new InvalidOperationException(
        "No default test domain: the test assembly names one with TestDomain.UseAsDefault from a module initializer.");

    /// <summary>Makes this the domain of the test assembly's hosts (once, before any test runs).</summary>
    public void UseAsDefault()
    {
        if (_default is not null && _default != this)
        {
            throw new InvalidOperationException($"The default test domain is already {_default.Name}.");
        }

        _default = this;
    }
}
