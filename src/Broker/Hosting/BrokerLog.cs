using Microsoft.Extensions.Logging;

namespace ActorEvents.Broker.Hosting;

/// <summary>The broker's log lines, source-generated (no boxing or formatting when the level is off).</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the broker at {Host}:{Port}")]
    public static partial void Connected(ILogger log, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broker cannot be reached ({Error}); trying again in {Seconds} s")]
    public static partial void Unreachable(ILogger log, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broker cancelled subscriber {Subscriber}'s consumer of queue {Queue}; starting it again")]
    public static partial void ConsumerCancelled(ILogger log, string subscriber, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscriber {Subscriber} could not start on queue {Queue} ({Error}); trying again in {Seconds} s")]
    public static partial void SubscriberNotStarted(ILogger log, string subscriber, string queue, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscriber {Subscriber} consumes queue {Queue} (prefetch {Prefetch})")]
    public static partial void Consuming(ILogger log, string subscriber, string queue, int prefetch);

    [LoggerMessage(Level = LogLevel.Error, Message = "Subscriber {Subscriber} could not settle message {MessageId}; it is handed back to the broker")]
    public static partial void NotSettled(ILogger log, Exception error, string subscriber, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscriber {Subscriber} rejects message {MessageId} to the queue's dead-letter exchange: {Reason}")]
    public static partial void Rejected(ILogger log, string subscriber, string messageId, object? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscriber {Subscriber} gave up on message {MessageId} after {Attempts} run(s): dead letter {Id} ({Reason})")]
    public static partial void DeadLettered(ILogger log, string subscriber, string messageId, int attempts, long id, object reason);
}
