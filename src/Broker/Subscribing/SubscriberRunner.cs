using System.Text.Json;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Broker.Hosting;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Broker.Subscribing;

/// <summary>What became of one run of a subscriber, for the consumer to settle with the broker.</summary>
/// <param name="Outcome">Ack (ran and committed, or de-duplicated), requeue, reject or dead letter.</param>
/// <param name="Deduplicated">True when it was acknowledged without running (its id was handled before).</param>
/// <param name="Delay">A requeue's delay.</param>
/// <param name="Failure">Why it was rejected or dead-lettered.</param>
/// <param name="Attempts">Runs so far.</param>
/// <param name="FirstFailureAt">When its first run failed (for the dead letter).</param>
internal sealed record SubscriberVerdict(SubscriberOutcome Outcome, bool Deduplicated, TimeSpan Delay, HandlerFailure? Failure, int Attempts, DateTimeOffset? FirstFailureAt);

/// <summary>
/// Runs one subscriber on one message: in a DI scope, under its retry policy (an exception is retried after the
/// policy's backoff until its retries are used up or it is permanent — an undecodable payload is), with its
/// de-duplication: the run and its unit-of-work writes commit with the (subscriber, message id) row in
/// <c>ae_processed_events</c>, so a message handled before is acknowledged without running. A result other than
/// <see cref="SubscriberResult.Ack"/> commits nothing.
/// </summary>
internal sealed class SubscriberRunner(SubscriberRegistration registration, RetryOptions retry, IServiceScopeFactory scopes, ProcessedEventGuard guard,
    ActorEventsDatabase database, BrokerStatistics statistics)
{
    /// <summary>The subscriber.</summary>
    public SubscriberRegistration Registration => registration;

    /// <summary>Runs it until it acknowledges, asks for a requeue or rejection, or gives up.</summary>
    public async Task<SubscriberVerdict> RunAsync(BrokerMessage message, CancellationToken stopping)
    {
        DateTimeOffset? firstFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunOnceAsync(message, attempt, firstFailure, stopping).ConfigureAwait(false);
            }
            catch (Exception error) when (!stopping.IsCancellationRequested)
            {
                firstFailure ??= DateTimeOffset.UtcNow;
                var permanent = retry.IsPermanent(error);
                if (permanent || attempt > retry.MaxRetries)
                {
                    var outcome = registration.Options.WhenExhausted == ExhaustedMessageAction.RejectToBroker ? SubscriberOutcome.Reject : SubscriberOutcome.DeadLetter;
                    return new SubscriberVerdict(outcome, false, TimeSpan.Zero, HandlerFailure.From(error, permanent), attempt, firstFailure);
                }

                statistics.CountOutcome(registration.Name, BrokerStatistics.Outcomes.Retry);
                await Task.Delay(retry.DelayBefore(attempt), stopping).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One run (a replay from the dead-letter store is one); throws what the subscriber threw.</summary>
    public async Task<SubscriberVerdict> RunOnceAsync(BrokerMessage message, int attempt, DateTimeOffset? firstFailure, CancellationToken stopping)
    {
        await using var scope = scopes.CreateAsyncScope();
        using var invocation = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        invocation.CancelAfter(retry.InvocationTimeout);
        var context = new SubscriberContext(message, registration.Name, attempt, scope.ServiceProvider, invocation.Token);
        object decoded;
        try
        {
            decoded = registration.Decode(message);
        }
        catch (JsonException error)
        {
            throw new PermanentHandlerException($"The payload of message {message.MessageId} is not a {registration.MessageType.Name}: {error.Message}", error);
        }

        SubscriberResult? result = null;
        async Task Invoke()
        {
            var subscriber = ServiceActivation.Create(scope.ServiceProvider, registration.SubscriberType);
            result = await registration.InvokeAsync(subscriber, decoded, context).ConfigureAwait(false);
            if (result.Outcome != SubscriberOutcome.Ack)
            {
                throw new NotAcknowledged(); // rolls back the unit of work: nothing of this run is committed
            }
        }

        var ran = true;
        try
        {
            if (registration.Options.Deduplicate && database.IsAvailable)
            {
                ran = await guard.RunOnceAsync(registration.Name, EnvelopeOf(message), scope.ServiceProvider, Invoke, () => [], _ => { }, invocation.Token).ConfigureAwait(false);
            }
            else
            {
                await Invoke().ConfigureAwait(false);
            }
        }
        catch (NotAcknowledged)
        {
            var refused = result!;
            return new SubscriberVerdict(refused.Outcome, false, refused.Delay,
                refused.Reason is { } reason ? new HandlerFailure("SubscriberResult", reason, null, true) : null, attempt, firstFailure);
        }

        return new SubscriberVerdict(SubscriberOutcome.Ack, !ran, TimeSpan.Zero, null, attempt, firstFailure);
    }

    /// <summary>The envelope a broker message is kept in (de-duplication row, dead letter): its id is the message id.</summary>
    public static EventEnvelope EnvelopeOf(BrokerMessage message) => new(
        message.MessageId, "actorevents.broker-message", 1, message.Timestamp, message.Source ?? string.Empty, "broker", message.Queue, 0,
        message.CorrelationId ?? message.MessageId, message.CausationId ?? message.MessageId, null, message);

    /// <summary>The subscriber answered something other than Ack.</summary>
    private sealed class NotAcknowledged : Exception;
}
