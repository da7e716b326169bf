using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace ActorEvents.Tests.Broker;

/// <summary>The helpers of <see cref="TestBroker"/> that leave the broker running, on a queue of the test's own.</summary>
[Collection(BrokerFaultGroup.Name)]
public sealed class TestBrokerTests
{
    [Fact]
    public void Should_have_a_rabbitmq_broker_in_ci()
    {
        // Locally the broker tests are skipped when no URI is set; CI must always run them (.ci/run starts RabbitMQ).
        if (Environment.GetEnvironmentVariable("CI") is "true" or "1")
        {
            Assert.NotNull(TestBroker.Uri);
        }
    }

    [Fact]
    public void Should_make_a_different_name_each_time()
    {
        var name = TestBroker.UniqueName("orders");
        Assert.StartsWith("orders-", name, StringComparison.Ordinal);
        Assert.Equal("orders-".Length + 12, name.Length);
        Assert.NotEqual(name, TestBroker.UniqueName("orders"));
    }

    [RabbitMqFact]
    public async Task Should_count_and_purge_messages_of_a_queue()
    {
        var exchange = TestBroker.UniqueName("test-exchange");
        var queue = TestBroker.UniqueName("test-queue");
        await TestBroker.DeclareTopicExchangeAsync(exchange);
        await TestBroker.DeclareQueueAsync(queue, exchange, "order.*");
        try
        {
            for (var i = 0; i < 3; i++)
            {
                await TestBroker.PublishRawAsync(exchange, "order.shipped", $"m-{i}", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), "order.shipped");
            }

            // Not bound: order.* matches one word after "order." only.
            await TestBroker.PublishRawAsync(exchange, "order.shipped.late", "m-other", Encoding.UTF8.GetBytes("{}"));

            Assert.Equal(3u, await TestBroker.MessageCountAsync(queue));
            await TestBroker.PurgeAsync(queue);
            Assert.Equal(0u, await TestBroker.MessageCountAsync(queue));
        }
        finally
        {
            await TestBroker.DeleteQueueAsync(queue);
            await TestBroker.DeleteExchangeAsync(exchange);
        }

        var missing = await Assert.ThrowsAsync<OperationInterruptedException>(() => TestBroker.MessageCountAsync(queue));
        Assert.Equal((ushort)404, missing.ShutdownReason?.ReplyCode);
    }
}

/// <summary>
/// The fault controls of <see cref="TestBroker"/>. They close every connection of the broker, so they run in
/// <see cref="BrokerFaultGroup"/> and hold <see cref="TestBroker.ExclusiveAsync"/>.
/// </summary>
[Trait("Category", "Fault")]
[Collection(BrokerFaultGroup.Name)]
public sealed class TestBrokerFaultTests
{
    [RabbitMqFact]
    public async Task Should_drop_connections_and_accept_them_again_after_close_all_connections()
    {
        await using var exclusive = await TestBroker.ExclusiveAsync();
        await using var connection = await TestBroker.ConnectAsync("actorevents-tests-close-all");
        Assert.False(TestBroker.Factory().AutomaticRecoveryEnabled);
        var closed = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionShutdownAsync += (_, args) =>
        {
            closed.TrySetResult(args);
            return Task.CompletedTask;
        };
        Assert.True(connection.IsOpen);

        var reason = TestBroker.UniqueName("test close_all_connections");
        await TestBroker.CloseAllConnectionsAsync(reason);

        var shutdown = await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ShutdownInitiator.Peer, shutdown.Initiator);
        Assert.Equal((ushort)320, shutdown.ReplyCode); // CONNECTION_FORCED
        Assert.Contains(reason, shutdown.ReplyText, StringComparison.Ordinal);
        Assert.False(connection.IsOpen);

        // The broker keeps accepting: a new connection opens at once, and its channels work.
        var opening = Stopwatch.StartNew();
        await using var again = await TestBroker.Factory().CreateConnectionAsync();
        await using var channel = await again.CreateChannelAsync();
        Assert.True(again.IsOpen);
        Assert.True(opening.Elapsed < TimeSpan.FromSeconds(5), $"reconnecting took {opening.Elapsed}");
    }

    [RabbitMqFact]
    public async Task Should_refuse_connections_while_the_app_is_stopped_and_accept_them_after_start_app()
    {
        var queue = TestBroker.UniqueName("test-durable");
        var exchange = TestBroker.UniqueName("test-exchange");
        await TestBroker.DeclareTopicExchangeAsync(exchange);
        await TestBroker.DeclareQueueAsync(queue, exchange, "#");
        await TestBroker.PublishRawAsync(exchange, "k", "m-1", Encoding.UTF8.GetBytes("{}"));
        try
        {
            await using (var exclusive = await TestBroker.ExclusiveAsync())
            {
                await using var connection = await TestBroker.ConnectAsync("actorevents-tests-stop-app");
                var closed = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    closed.TrySetResult(args);
                    return Task.CompletedTask;
                };

                await TestBroker.StopAppAsync();
                await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.False(connection.IsOpen);
                await Assert.ThrowsAsync<BrokerUnreachableException>(() => TestBroker.Factory().CreateConnectionAsync());

                // Leaving the lease starts the app again (also when a test fails with the broker down).
            }

            // A durable queue and its persistent message survive the stop.
            Assert.Equal(1u, await TestBroker.MessageCountAsync(queue));
        }
        finally
        {
            await TestBroker.DeleteQueueAsync(queue);
            await TestBroker.DeleteExchangeAsync(exchange);
        }
    }
}
