using System.Text;
using RabbitMQ.Client;

namespace ActorEvents.Tests.Broker;

/// <summary>One message taken from a queue by a test.</summary>
/// <param name="MessageId">Its AMQP message id.</param>
/// <param name="RoutingKey">The routing key it was published with.</param>
/// <param name="Properties">Its properties.</param>
/// <param name="Body">Its payload.</param>
public sealed record ReceivedMessage(string? MessageId, string RoutingKey, IReadOnlyBasicProperties Properties, byte[] Body)
{
    /// <summary>The payload as text.</summary>
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>A header as text (AMQP strings arrive as bytes).</summary>
    public string? Header(string name) => Properties.Headers?.TryGetValue(name, out var value) == true
        ? value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), null => null, _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) }
        : null;
}

/// <summary>What the broker tests need beyond <see cref="TestBroker"/>: taking a queue's messages, deleting exchanges.</summary>
public static class BrokerQueues
{
    /// <summary>Takes (acknowledges) every ready message of <paramref name="queue"/>.</summary>
    public static async Task<IReadOnlyList<ReceivedMessage>> DrainAsync(string queue)
    {
        var messages = new List<ReceivedMessage>();
        await using var connection = await TestBroker.ConnectAsync("actorevents-tests-drain");
        await using var channel = await connection.CreateChannelAsync();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } got)
        {
            messages.Add(new ReceivedMessage(got.BasicProperties.MessageId, got.RoutingKey, got.BasicProperties, got.Body.ToArray()));
        }

        await channel.CloseAsync();
        await connection.CloseAsync();
        return messages;
    }

    /// <summary>
    /// Takes messages from <paramref name="queue"/> until <paramref name="distinctIds"/> different message ids came (or the
    /// timeout passed), then whatever else is ready. Returns every message taken, duplicates included.
    /// </summary>
    public static async Task<IReadOnlyList<ReceivedMessage>> CollectAsync(string queue, int distinctIds, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        var all = new List<ReceivedMessage>();
        while (true)
        {
            all.AddRange(await DrainAsync(queue));
            if (all.Select(m => m.MessageId).Distinct().Count() >= distinctIds || DateTime.UtcNow > deadline)
            {
                return all;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until <paramref name="queue"/> exists and has a consumer.</summary>
    public static async Task WaitForConsumerAsync(string queue, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        await using var connection = await TestBroker.ConnectAsync("actorevents-tests-consumers");
        while (true)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                if ((await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0)
                {
                    await channel.CloseAsync();
                    break;
                }

                await channel.CloseAsync();
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                // Not declared yet (the 404 closed this channel).
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Queue {queue} has no consumer after {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds} s.");
            }

            await Task.Delay(20);
        }

        await connection.CloseAsync();
    }

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Waits until <paramref name="condition"/> holds (asynchronous check).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }
}
