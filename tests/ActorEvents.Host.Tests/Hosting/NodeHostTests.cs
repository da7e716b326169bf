using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Mediator;
using ActorEvents.Host.Domain.Inventory;
using ActorEvents.Messages;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ActorEvents.Host.Tests.Hosting;

/// <summary>The real node entry point (<c>NodeHost.CreateBuilder</c>) with test overrides, and its start-up validation.</summary>
public sealed class NodeHostTests
{
    [Fact]
    public async Task Should_start_the_node_host_in_memory_on_a_random_loopback_port_and_accept_a_command()
    {
        await using var host = await ActorEventsTestHost.StartAsync(SampleTestDomain.BuildNodeHost(ActorEventsTestHost.Settings()));

        var address = Cluster.Get(host.System).SelfAddress;
        Assert.Equal("127.0.0.1", address.Host);
        Assert.True(address.Port is > 0 and not 4053, $"port {address.Port}");
        Assert.Equal("actor-events", host.System.Name);
        Assert.Equal(PersistenceProviders.InMemory, host.Host.Services.GetRequiredService<IOptions<ActorEventsOptions>>().Value.Persistence.Provider);

        var client = host.Host.Services.GetRequiredService<IActorEventsClient>();
        var result = await client.SendAsync(new AddStock("sku-node", 5));

        var accepted = Assert.IsType<CommandAccepted>(result);
        Assert.Equal(new StockAdded("sku-node", 5, 5), Assert.Single(accepted.Events).Event);
        Assert.Equal(address.ToString(), accepted.Events[0].SourceNode);
    }

    [Fact]
    public async Task Should_start_the_node_host_on_a_sqlite_file()
    {
        using var database = new TempSqliteDatabase();
        await using (var host = await ActorEventsTestHost.StartAsync(SampleTestDomain.BuildNodeHost(ActorEventsTestHost.SqliteSettings(database))))
        {
            await host.AcceptAsync(new AddStock("sku-file", 2));
            var second = await host.AcceptAsync(new AddStock("sku-file", 3));
            Assert.Equal(new StockAdded("sku-file", 3, 5), Assert.Single(second.Events).Event);
        }

        Assert.True(File.Exists(database.Path));
        Assert.Equal(2, database.Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'inventory-sku-file'"));
        Assert.Equal("wal", database.ScalarText("PRAGMA journal_mode"));
    }

    public static TheoryData<bool> Builders() => [true, false];

    [Theory]
    [MemberData(nameof(Builders))]
    public async Task Should_fail_start_up_with_a_clear_message_when_postgresql_has_no_connection_string(bool nodeHost)
    {
        var settings = ActorEventsTestHost.Settings(new Dictionary<string, string?> { ["Persistence:Provider"] = PersistenceProviders.PostgreSql });

        var error = await StartFailureAsync(settings, nodeHost);

        Assert.True(error is OptionsValidationException or InvalidOperationException, $"{error.GetType().Name}: {error.Message}");
        Assert.Contains("ConnectionString", AllMessages(error), StringComparison.Ordinal);
        Assert.Contains("postgresql", AllMessages(error), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Builders))]
    public async Task Should_fail_start_up_with_a_clear_message_for_an_unknown_provider(bool nodeHost)
    {
        var settings = ActorEventsTestHost.Settings(new Dictionary<string, string?> { ["Persistence:Provider"] = "mongodb" });

        var error = await StartFailureAsync(settings, nodeHost);

        Assert.True(error is OptionsValidationException or InvalidOperationException, $"{error.GetType().Name}: {error.Message}");
        Assert.Contains("'mongodb' is not supported", AllMessages(error), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Mediator:MaxCommandBytes", "1", "MaxCommandBytes")]
    [InlineData("Mediator:MaxAggregateIdLength", "0", "MaxAggregateIdLength")]
    [InlineData("Aggregates:NumberOfShards", "0", "NumberOfShards")]
    [InlineData("Node:Port", "70000", "Port")]
    public async Task Should_fail_start_up_when_a_nested_setting_is_out_of_range(string key, string value, string member)
    {
        var settings = ActorEventsTestHost.Settings(new Dictionary<string, string?> { [key] = value });

        var error = await StartFailureAsync(settings, nodeHost: false);

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains(validation.Failures, f => f.Contains($"ActorEvents:{key.Split(':')[0]}:{member}", StringComparison.Ordinal));
    }

    private static async Task<Exception> StartFailureAsync(IReadOnlyDictionary<string, string?> settings, bool nodeHost)
    {
        using var host = nodeHost ? SampleTestDomain.BuildNodeHost(settings) : ActorEventsTestHost.Build(settings);
        var error = await Record.ExceptionAsync(() => host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.NotNull(error);
        await host.StopAsync(TimeSpan.FromSeconds(10));
        return error is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : error;
    }

    private static string AllMessages(Exception error)
    {
        var messages = new List<string>();
        for (var e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is OptionsValidationException validation)
            {
                messages.AddRange(validation.Failures);
            }
        }

        return string.Join(" | ", messages);
    }
}
