using System.Text.Json;
using ActorEvents.Messages;

namespace ActorEvents.Broker.Subscribing;

/// <summary>One subscriber as registered: its class, the message type it takes, its queue and options.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Queue">The queue it consumes.</param>
/// <param name="SubscriberType">The class implementing <see cref="ISubscriber{TMessage}"/>.</param>
/// <param name="MessageType">The message type: <see cref="BrokerMessage"/> or a contract read from the JSON payload.</param>
/// <param name="Options">Its options.</param>
internal sealed record SubscriberRegistration(string Name, string Queue, Type SubscriberType, Type MessageType, SubscriberOptions Options)
{
    private Func<object, object, SubscriberContext, Task<SubscriberResult>>? _invoker;

    private static readonly JsonSerializerOptions ContractJson = new(JsonSerializerDefaults.Web);

    /// <summary>Creates a registration for <typeparamref name="TSubscriber"/>, finding its one <see cref="ISubscriber{TMessage}"/>.</summary>
    public static SubscriberRegistration For<TSubscriber>(string queue, SubscriberOptions options)
    {
        var interfaces = typeof(TSubscriber).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISubscriber<>)).ToArray();
        if (interfaces.Length != 1)
        {
            throw new InvalidOperationException($"Subscriber '{typeof(TSubscriber).Name}' must implement ISubscriber<T> exactly once (it implements it {interfaces.Length} times).");
        }

        if (string.IsNullOrWhiteSpace(queue))
        {
            throw new InvalidOperationException($"Subscriber '{typeof(TSubscriber).Name}' needs a queue name.");
        }

        return new SubscriberRegistration(options.Name ?? typeof(TSubscriber).Name, queue, typeof(TSubscriber), interfaces[0].GetGenericArguments()[0], options);
    }

    /// <summary>The message as the subscriber takes it: itself when raw, else its payload read as the contract.</summary>
    /// <exception cref="JsonException">The payload is not JSON of the contract (a poison message: retrying cannot help).</exception>
    public object Decode(BrokerMessage message) => MessageType == typeof(BrokerMessage)
        ? message
        : JsonSerializer.Deserialize(message.Body, MessageType, ContractJson)
            ?? throw new JsonException($"The payload of message {message.MessageId} is JSON null, not a {MessageType.Name}.");

    /// <summary>Runs the subscriber's <c>HandleAsync</c>.</summary>
    public Task<SubscriberResult> InvokeAsync(object subscriber, object message, SubscriberContext context) =>
        (_invoker ??= (Func<object, object, SubscriberContext, Task<SubscriberResult>>)typeof(SubscriberRegistration)
            .GetMethod(nameof(InvokerOf), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(MessageType).Invoke(null, null)!)(subscriber, message, context);

    private static Func<object, object, SubscriberContext, Task<SubscriberResult>> InvokerOf<TMessage>() =>
        (subscriber, message, context) => ((ISubscriber<TMessage>)subscriber).HandleAsync((TMessage)message, context);
}
