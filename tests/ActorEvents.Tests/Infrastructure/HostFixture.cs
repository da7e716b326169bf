namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// One in-memory host shared by the tests of a class (xunit class fixture). Tests use distinct aggregate ids,
/// so they do not see each other's streams. Derive to change settings.
/// </summary>
public class InMemoryHostFixture : IAsyncLifetime
{
    private ActorEventsTestHost? _host;

    /// <summary>The started host.</summary>
    public ActorEventsTestHost Host => _host ?? throw new InvalidOperationException("The host has not started.");

    /// <summary>Settings overrides of this fixture.</summary>
    protected virtual IReadOnlyDictionary<string, string?> ConfigurationOverrides => new Dictionary<string, string?>();

    public async Task InitializeAsync() => _host = await ActorEventsTestHost.StartAsync(ActorEventsTestHost.Settings(ConfigurationOverrides));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
