using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// Everything the application registers in code: its aggregates (and, through them, its commands, events
/// and state types). Built once at start-up into an immutable <see cref="ActorEventsDomain"/>.
/// </summary>
public sealed class ActorEventsDomainBuilder
{
    private readonly List<AggregateRegistration> _aggregates = [];
    private readonly List<Action<MessageTypeRegistry>> _typeRegistrations = [];
    private readonly List<(Type HandlerType, HandlerOptions Options)> _handlers = [];
    private readonly List<(Type Service, Type Implementation)> _streamingHandlers = [];

    /// <summary>Registers an aggregate; each aggregate type becomes a shard region.</summary>
    public ActorEventsDomainBuilder AddAggregate<TAggregate>() where TAggregate : IAggregateDefinition, new()
    {
        var definition = new TAggregate();
        if (_aggregates.Any(a => a.Definition.Name == definition.Name))
        {
            throw new InvalidOperationException($"An aggregate named '{definition.Name}' is already registered.");
        }

        _aggregates.Add(AggregateRegistration.For<TAggregate>(definition));
        return this;
    }

    /// <summary>Registers an extra message type (e.g. an event only handlers emit) under its <c>[MessageName]</c>.</summary>
    public ActorEventsDomainBuilder AddMessageType<T>()
    {
        _typeRegistrations.Add(registry => registry.Register(typeof(T)));
        return this;
    }

    /// <summary>
    /// Registers an event handler class (one <see cref="IHandle{TEvent}"/> per handled event type, and/or
    /// <see cref="IHandleAnyEvent"/>) with Protean's subscription options. It is resolved from the service
    /// provider in a fresh scope for every invocation, so it can take dependencies.
    /// </summary>
    public ActorEventsDomainBuilder AddHandler<THandler>(Action<HandlerOptions>? configure = null) where THandler : class
    {
        var options = new HandlerOptions();
        configure?.Invoke(options);
        _handlers.Add((typeof(THandler), options));
        return this;
    }

    /// <summary>Registers the handler of a streaming request type.</summary>
    public ActorEventsDomainBuilder AddStreamingHandler<TRequest, TResult, THandler>()
        where TRequest : Messages.IStreamingRequest<TResult>
        where THandler : class, IStreamingRequestHandler<TRequest, TResult>
    {
        _streamingHandlers.Add((typeof(IStreamingRequestHandler<TRequest, TResult>), typeof(THandler)));
        return this;
    }

    /// <summary>Validates the registrations and builds the closed type map.</summary>
    /// <exception cref="InvalidOperationException">A type is missing its stable name, a name is used twice, or a command type belongs to two aggregates.</exception>
    public ActorEventsDomain Build()
    {
        var registry = new MessageTypeRegistry();
        var commandOwners = new Dictionary<Type, AggregateRegistration>();
        foreach (var aggregate in _aggregates)
        {
            var definition = aggregate.Definition;
            registry.Register(definition.StateType, $"{definition.Name}.state");
            foreach (var type in definition.MessageTypes())
            {
                registry.Register(type);
                if (definition.CommandType.IsAssignableFrom(type))
                {
                    if (commandOwners.TryGetValue(type, out var owner))
                    {
                        throw new InvalidOperationException(
                            $"Command '{type.Name}' is handled by both '{owner.Definition.Name}' and '{definition.Name}'.");
                    }

                    commandOwners[type] = aggregate;
                }
            }
        }

        foreach (var registration in _typeRegistrations)
        {
            registration(registry);
        }

        registry.Freeze();
        var handlers = new List<HandlerDescriptor>();
        foreach (var (handlerType, options) in _handlers)
        {
            var descriptor = HandlerDescriptor.Create(handlerType, options, registry);
            if (handlers.Any(h => h.Name == descriptor.Name))
            {
                throw new InvalidOperationException(
                    $"A handler named '{descriptor.Name}' is already registered; registering the same handler twice would run it twice for one event.");
            }

            if (handlers.FirstOrDefault(h => h.HandlerType == descriptor.HandlerType && (h.Delivery & descriptor.Delivery) != 0) is { } twin)
            {
                throw new InvalidOperationException(
                    $"'{descriptor.HandlerType.Name}' is already registered as '{twin.Name}' for {twin.Delivery & descriptor.Delivery} delivery; it would run twice for one event. Use Delivery = Both instead.");
            }

            handlers.Add(descriptor);
        }

        return new ActorEventsDomain(registry, _aggregates.ToArray(), commandOwners, new HandlerSubscriptionTable(handlers), _streamingHandlers.ToArray());
    }
}

/// <summary>The built, immutable domain: type map, aggregates, which aggregate owns each command type, and the handlers.</summary>
/// <param name="Types">The closed type map.</param>
/// <param name="Aggregates">The registered aggregates.</param>
/// <param name="CommandOwners">Command CLR type → owning aggregate.</param>
/// <param name="Handlers">Event handlers and their subscriptions.</param>
/// <param name="StreamingHandlers">Streaming request handler service → implementation.</param>
public sealed record ActorEventsDomain(
    MessageTypeRegistry Types,
    IReadOnlyList<AggregateRegistration> Aggregates,
    IReadOnlyDictionary<Type, AggregateRegistration> CommandOwners,
    HandlerSubscriptionTable Handlers,
    IReadOnlyList<(Type Service, Type Implementation)> StreamingHandlers);
