using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Mediator;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.TestKit;

/// <summary>
/// Given/when/then for one event handler (Protean's <c>given(event).process()</c>): an event in, the handler run as the
/// runtime runs it — created in a fresh dependency-injection scope, the event in an envelope, its registered
/// <c>IHandle&lt;T&gt;</c> method chosen by the domain's own subscription table, the error hook on failure — and its
/// effects out: the follow-up events it emitted and the commands it sent through <see cref="IActorEventsClient"/>
/// (a <see cref="RecordingClient"/>). No actor system, no database.
/// </summary>
public static class HandlerScenario
{
    /// <summary>
    /// A scenario of <typeparamref name="THandler"/> in the domain <paramref name="domain"/> registers (the handler itself is
    /// added when the domain does not register it), with the services it needs.
    /// </summary>
    public static HandlerScenario<THandler> For<THandler>(Action<ActorEventsDomainBuilder> domain, Action<IServiceCollection>? services = null)
        where THandler : class
    {
        var built = Build(domain, addHandler: false);
        if (!built.Handlers.Handlers.Any(h => h.HandlerType == typeof(THandler)))
        {
            built = Build(domain, addHandler: true);
        }

        var client = new RecordingClient();
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        collection.AddSingleton<IActorEventsClient>(client);
        return new HandlerScenario<THandler>(built, collection.BuildServiceProvider(), client);

        ActorEventsDomain Build(Action<ActorEventsDomainBuilder> configure, bool addHandler)
        {
            var builder = new ActorEventsDomainBuilder();
            configure(builder);
            if (addHandler)
            {
                builder.AddHandler<THandler>();
            }

            return builder.Build();
        }
    }
}

/// <summary>Where the event of a handler scenario comes from: its envelope's fields.</summary>
/// <param name="AggregateType">The aggregate type (null: the handler's stream category, else <c>test</c>).</param>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="SequenceNr">The event's sequence number.</param>
/// <param name="OriginStream">The origin stream of the command (for handlers filtered on <c>SourceStream</c>).</param>
/// <param name="Attempt">Which attempt this run is (1 for the first).</param>
public sealed record EventSource(string? AggregateType = null, string AggregateId = "test-1", long SequenceNr = 1, string? OriginStream = null, int Attempt = 1);

/// <summary>One handler in its domain, with its services and the client that records its commands.</summary>
/// <typeparam name="THandler">The handler.</typeparam>
public sealed class HandlerScenario<THandler> : IAsyncDisposable where THandler : class
{
    private readonly ActorEventsDomain _domain;
    private readonly ServiceProvider _services;
    private readonly HandlerDescriptor _descriptor;
    private readonly RetryOptions _policy;
    private readonly HandlerInvocation _invocation;

    internal HandlerScenario(ActorEventsDomain domain, ServiceProvider services, RecordingClient client)
    {
        _domain = domain;
        _services = services;
        Client = client;
        _descriptor = domain.Handlers.Handlers.First(h => h.HandlerType == typeof(THandler));
        _policy = _descriptor.RetryPolicy(new RetryOptions());
        _invocation = new HandlerInvocation(services.GetRequiredService<IServiceScopeFactory>());
    }

    /// <summary>Records the commands the handler sends; set its <see cref="RecordingClient.Answer"/> to answer them otherwise.</summary>
    public RecordingClient Client { get; }

    /// <summary>The scenario's services (the root of each run's scope).</summary>
    public IServiceProvider Services => _services;

    /// <summary>The event to process, from <paramref name="source"/> (Protean's <c>given</c>).</summary>
    public HandlerGiven<THandler> Given(IEvent @event, EventSource? source = null) => new(this, @event, source ?? new EventSource());

    /// <summary>Runs the handler once for <paramref name="event"/> and returns what it did.</summary>
    /// <exception cref="ScenarioAssertionException">The event type is not registered, or the handler is not subscribed to this event.</exception>
    public async Task<HandlerRun> ProcessAsync(IEvent @event, EventSource? source = null, CancellationToken cancellationToken = default)
    {
        source ??= new EventSource();
        if (!_domain.Types.TryGet(@event.GetType(), out var registered))
        {
            throw new ScenarioAssertionException($"Event type '{@event.GetType().FullName}' is not registered in the domain.");
        }

        var id = Guid.CreateVersion7().ToString("N");
        var envelope = new EventEnvelope(id, registered.Name, registered.Version, DateTimeOffset.UtcNow, "test-node",
            source.AggregateType ?? _descriptor.StreamCategory ?? "test", source.AggregateId, source.SequenceNr, id, id, source.OriginStream, @event);
        if (!_domain.Handlers.Match(envelope).Contains(_descriptor))
        {
            throw new ScenarioAssertionException(
                $"{_descriptor.Name} is not subscribed to '{registered.Name}' from {envelope.AggregateType} '{envelope.AggregateId}'"
                + (source.OriginStream is null ? "" : $" (origin stream '{source.OriginStream}')") + ": the runtime would not run it.");
        }

        var sentBefore = Client.Sent.Count;
        // The runtime's own invocation: the handler's timeout and permanent errors (its Retry options over the defaults),
        // the error hook (what it throws is the runtime's log line, not the run's outcome).
        var result = await _invocation.RunAsync(_descriptor, envelope, source.Attempt, _policy, abandoned: () => { }, cancellationToken).ConfigureAwait(false);
        return new HandlerRun(envelope, [.. result.FollowUps.Select(f => f.Event)], [.. Client.Sent.Skip(sentBefore)], result.Error)
        {
            ErrorHookFailure = result.HookError,
        };
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

/// <summary>An event given to a handler scenario, to process.</summary>
/// <typeparam name="THandler">The handler.</typeparam>
public sealed class HandlerGiven<THandler> where THandler : class
{
    private readonly HandlerScenario<THandler> _scenario;
    private readonly IEvent _event;
    private readonly EventSource _source;

    internal HandlerGiven(HandlerScenario<THandler> scenario, IEvent @event, EventSource source)
    {
        _scenario = scenario;
        _event = @event;
        _source = source;
    }

    /// <summary>Runs the handler for the given event (Protean's <c>process</c>).</summary>
    public Task<HandlerRun> ProcessAsync(CancellationToken cancellationToken = default) => _scenario.ProcessAsync(_event, _source, cancellationToken);
}

/// <summary>What one run of a handler did, with its assertions.</summary>
/// <param name="Envelope">The envelope it was given.</param>
/// <param name="FollowUps">The follow-up events it emitted (none when it failed: the runtime dispatches them only after a success).</param>
/// <param name="Commands">The commands it sent.</param>
/// <param name="Error">What it threw, if it failed (a <see cref="TimeoutException"/> when it ran past its invocation timeout).</param>
public sealed record HandlerRun(EventEnvelope Envelope, IReadOnlyList<IEvent> FollowUps, IReadOnlyList<SentCommand> Commands, Exception? Error)
{
    /// <summary>What the handler's error hook threw, if it did: the runtime logs it and keeps the handler's failure as the outcome.</summary>
    public Exception? ErrorHookFailure { get; init; }

    /// <summary>Expects the run to have succeeded.</summary>
    public HandlerRun ThenSucceeded()
    {
        if (Error is not null)
        {
            throw new ScenarioAssertionException($"Expected the handler to succeed, but it threw {Error.GetType().Name}: {Error.Message}");
        }

        return this;
    }

    /// <summary>Expects the run to have failed with <typeparamref name="TException"/>.</summary>
    public TException ThenFailed<TException>() where TException : Exception =>
        Error as TException ?? throw new ScenarioAssertionException(
            $"Expected the handler to fail with {typeof(TException).Name}, but it {(Error is null ? "succeeded" : $"threw {Error.GetType().Name}: {Error.Message}")}.");

    /// <summary>Expects exactly these follow-up events, in order.</summary>
    public HandlerRun ThenEmitted(params IEvent[] expected)
    {
        ThenSucceeded();
        if (!FollowUps.SequenceEqual(expected))
        {
            throw new ScenarioAssertionException($"Expected the follow-ups [{string.Join(", ", expected)}], but the handler emitted [{string.Join(", ", FollowUps)}].");
        }

        return this;
    }

    /// <summary>Expects exactly these commands sent, in order.</summary>
    public HandlerRun ThenSent(params ICommand[] expected)
    {
        if (!Commands.Select(c => c.Command).SequenceEqual(expected))
        {
            throw new ScenarioAssertionException(
                $"Expected the commands [{string.Join(", ", expected.Select(c => c.ToString()))}], but the handler sent [{string.Join(", ", Commands.Select(c => c.Command.ToString()))}].");
        }

        return this;
    }
}
