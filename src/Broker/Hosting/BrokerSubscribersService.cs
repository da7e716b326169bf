using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Broker.Publishing;
using ActorEvents.Broker.Subscribing;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Broker.Hosting;

/// <summary>
/// Starts this node's subscribers once the actor system runs (each connects in the background, waiting while the broker
/// cannot be reached) and registers the desk that replays their dead letters; stops them on shutdown (their
/// unacknowledged messages go back to the queue).
/// </summary>
internal sealed class BrokerSubscribersService(IServiceProvider services, ActorEventsDomain domain, IOptions<BrokerOptions> options,
    IOptions<ActorEventsOptions> actorEvents, ILogger<BrokerSubscribersService> log) : BackgroundService
{
    private readonly List<SubscriberConsumer> _consumers = [];

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.IsConfigured || domain.Extension<BrokerRegistrations>() is not { Subscribers.Count: > 0 } registrations)
        {
            return;
        }

        if (registrations.Subscribers.FirstOrDefault(s => domain.Handlers.Find(s.Name) is not null) is { } clash)
        {
            throw new InvalidOperationException($"Subscriber '{clash.Name}' has the name of a handler: their dead letters and processed rows would mix. Give it another Name.");
        }

        var runners = registrations.Subscribers.ToDictionary(s => s.Name, s => RunnerOf(s), StringComparer.Ordinal);
        var system = services.GetRequiredService<ActorSystem>();
        ActorRegistry.For(system).Register<InboundMessageDesk>(system.ActorOf(
            SubscriberDeadLetterDesk.Props(runners, services.GetRequiredService<IDeadLetterStore>()), "broker-subscriber-dead-letters"));
        if (!options.Value.Consume)
        {
            return;
        }

        // Each starts on its own: one that cannot start (its queue missing, declared with other arguments) keeps trying
        // without holding up the others.
        var starting = new List<Task>();
        foreach (var runner in runners.Values)
        {
            SubscriberConsumer? consumer = null;
            consumer = new SubscriberConsumer(runner, services.GetRequiredService<BrokerConnection>(), options.Value,
                services.GetRequiredService<IDeadLetterStore>(), services.GetRequiredService<BrokerStatistics>(), log)
            {
                CancelledByBroker = () => RestartAsync(consumer!, runner.Registration, stoppingToken),
            };
            _consumers.Add(consumer);
            starting.Add(StartAsync(consumer, runner.Registration, stoppingToken));
        }

        await Task.WhenAll(starting).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var consumer in _consumers)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private SubscriberRunner RunnerOf(SubscriberRegistration registration)
    {
        var retry = actorEvents.Value.Pipeline.Retry.Clone();
        registration.Options.Retry?.Invoke(retry);
        return new SubscriberRunner(registration, retry, services.GetRequiredService<IServiceScopeFactory>(), services.GetRequiredService<ProcessedEventGuard>(),
            services.GetRequiredService<ActorEventsDatabase>(), services.GetRequiredService<BrokerStatistics>());
    }

    /// <summary>The broker cancelled a consumer (its queue was deleted, or moved): it closes its channel and starts again (declaring its queue again).</summary>
    private async Task RestartAsync(SubscriberConsumer consumer, SubscriberRegistration registration, CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        BrokerLog.ConsumerCancelled(log, registration.Name, registration.Queue);
        await consumer.DisposeAsync().ConfigureAwait(false);
        try
        {
            await StartAsync(consumer, registration, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The node stops.
        }
    }

    private async Task StartAsync(SubscriberConsumer consumer, SubscriberRegistration registration, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await consumer.StartAsync(stopping).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                BrokerLog.SubscriberNotStarted(log, registration.Name, registration.Queue, e.GetBaseException().Message, options.Value.ReconnectInterval.TotalSeconds);
                await consumer.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(options.Value.ReconnectInterval, stopping).ConfigureAwait(false);
            }
        }
    }
}
