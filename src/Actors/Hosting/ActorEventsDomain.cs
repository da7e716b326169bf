using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Queries;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// Everything the application registers in code: its aggregates (and, through them, its commands, events
/// and state types). Built once at start-up into an immutable <see cref="ActorEventsDomain"/>.
/// </summary>
public sealed class ActorEventsDomainBuilder
{
    private readonly List<AggregateRegistration> _aggregates = [];
    private readonly List<Action<MessageTypeRegistry>> _typeRegistrations = [];
    private readonly List<Action<EventUpcasters>> _upcasters = [];
    private readonly List<(Type HandlerType, HandlerOptions Options)> _handlers = [];
    private readonly List<(Type Service, Type Implementation)> _streamingHandlers = [];
    private readonly List<SubscriptionRegistration> _subscriptions = [];
    private readonly List<QueryHandlerRegistration> _queryHandlers = [];
    private readonly List<Type> _readModelSchemas = [];
    private readonly Dictionary<Type, object> _extensions = [];

    /// <summary>Registers an aggregate; each aggregate type becomes a shard region.</summary>
    public ActorEventsDomainBuilder AddAggregate<TAggregate>() where TAggregate : IAggregateDefinition, new()
    {
        var definition = new TAggregate();
        if (Mediator.AggregateIds.NameProblem(definition.Name) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

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
    /// Registers a typed upcaster: stored events of <typeparamref name="TOld"/>'s version are read as <typeparamref name="TNew"/>
    /// (the next version of the name). <typeparamref name="TOld"/> is the old shape, kept as a record marked
    /// <c>[MessageName(name, Version = n, Superseded = true)]</c>: read, never written. Chains (v1 → v2 → v3) compose.
    /// </summary>
    public ActorEventsDomainBuilder Upcast<TOld, TNew>(Func<TOld, TNew> upcast) where TOld : class where TNew : class =>
        AddUpcaster(u => u.Add(upcast));

    /// <summary>Registers a typed upcaster that makes any number of events of one stored <typeparamref name="TOld"/>: several (a split) or none (no longer meaningful).</summary>
    public ActorEventsDomainBuilder UpcastToMany<TOld>(Func<TOld, IEnumerable<IEvent>> upcast) where TOld : class =>
        AddUpcaster(u => u.AddToMany(upcast));

    /// <summary>
    /// Registers a raw JSON upcaster from version <paramref name="fromVersion"/> of event <paramref name="name"/> to the
    /// next version, for when the old CLR type is gone: stored <c>data</c> in (camelCase, as written), the next version's out.
    /// </summary>
    public ActorEventsDomainBuilder UpcastJson(string name, int fromVersion, Func<System.Text.Json.Nodes.JsonObject, System.Text.Json.Nodes.JsonObject> upcast) =>
        AddUpcaster(u => u.AddJson(name, fromVersion, upcast));

    /// <summary>Registers a raw JSON upcaster that makes any number of next-version payloads of one stored payload.</summary>
    public ActorEventsDomainBuilder UpcastJsonToMany(string name, int fromVersion,
        Func<System.Text.Json.Nodes.JsonObject, IEnumerable<System.Text.Json.Nodes.JsonObject>> upcast) =>
        AddUpcaster(u => u.AddJsonToMany(name, fromVersion, upcast));

    private ActorEventsDomainBuilder AddUpcaster(Action<EventUpcasters> registration)
    {
        _upcasters.Add(registration);
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

    /// <summary>
    /// Registers a durable subscription: it reads a journal tag (or every event) from its checkpoint and feeds durable
    /// handlers (<see cref="HandlerOptions.Delivery"/> Durable or Both) — the ones it names, or else every durable handler
    /// its events reach that no other subscription names. It runs once per cluster.
    /// </summary>
    /// <param name="name">Unique name (letters, digits, '.', '_', '-'); also the key of its checkpoint.</param>
    /// <param name="configure">Tag, profile, overrides and handlers.</param>
    public ActorEventsDomainBuilder AddSubscription(string name, Action<SubscriptionOptions> configure)
    {
        var options = new SubscriptionOptions();
        configure(options);
        _subscriptions.Add(new SubscriptionRegistration(name, options, null));
        return this;
    }

    /// <summary>
    /// Registers a projection: a subscription whose batches <typeparamref name="TProjector"/> applies to its tables in the
    /// same transaction as the checkpoint (exactly-once). Its tables are created at start-up; rebuild clears them.
    /// </summary>
    /// <param name="name">Unique name.</param>
    /// <param name="configure">Tag (null: every event), profile (default: projection) and overrides.</param>
    public ActorEventsDomainBuilder AddProjection<TProjector>(string name, Action<SubscriptionOptions>? configure = null) where TProjector : class, IProjector
    {
        var options = new SubscriptionOptions();
        configure?.Invoke(options);
        _subscriptions.Add(new SubscriptionRegistration(name, options, typeof(TProjector)));
        AddReadModelSchema<TProjector>();
        return this;
    }

    /// <summary>Registers the handler that answers <typeparamref name="TQuery"/> (one per query type).</summary>
    public ActorEventsDomainBuilder AddQueryHandler<TQuery, TResult, THandler>()
        where TQuery : IQuery<TResult>
        where THandler : class, IQueryHandler<TQuery, TResult>
    {
        if (_queryHandlers.Any(q => q.QueryType == typeof(TQuery)))
        {
            throw new InvalidOperationException($"A handler for query '{typeof(TQuery).Name}' is already registered.");
        }

        _queryHandlers.Add(QueryHandlerRegistration.For<TQuery, TResult, THandler>());
        return this;
    }

    /// <summary>Registers tables that are not a projection's (e.g. those a durable handler writes in its unit of work); created at start-up.</summary>
    public ActorEventsDomainBuilder AddReadModelSchema<TSchema>() where TSchema : class, IReadModelSchema
    {
        if (!_readModelSchemas.Contains(typeof(TSchema)))
        {
            _readModelSchemas.Add(typeof(TSchema));
        }

        return this;
    }

    /// <summary>Adds a subscription with its own sink (an integration's: the broker's publisher).</summary>
    internal ActorEventsDomainBuilder AddSinkSubscription(SubscriptionRegistration registration)
    {
        _subscriptions.Add(registration);
        return this;
    }

    /// <summary>An integration's registrations (one object per type), created on first use and handed to the built domain.</summary>
    internal T Extension<T>() where T : class, new()
    {
        if (!_extensions.TryGetValue(typeof(T), out var extension))
        {
            _extensions[typeof(T)] = extension = new T();
        }

        return (T)extension;
    }

    /// <summary>Validates the registrations and builds the closed type map.</summary>
    /// <exception cref="InvalidOperationException">
    /// A type is missing its stable name, a name is used twice, a command type belongs to two aggregates, or an upcaster chain is invalid.
    /// </exception>
    public ActorEventsDomain Build()
    {
        var registry = new MessageTypeRegistry();
        var commandOwners = new Dictionary<Type, AggregateRegistration>();
        foreach (var aggregate in _aggregates)
        {
            var definition = aggregate.Definition;
            registry.Register(definition.StateType, $"{definition.Name}.state", definition.StateVersion);
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

        foreach (var upcaster in _upcasters)
        {
            upcaster(registry.Upcasters);
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

        return new ActorEventsDomain(registry, _aggregates.ToArray(), commandOwners, new HandlerSubscriptionTable(handlers), _streamingHandlers.ToArray())
        {
            Subscriptions = SubscriptionCatalog.Resolve(_subscriptions, handlers, [.. _aggregates.Select(a => a.Definition)], registry),
            QueryHandlers = _queryHandlers.ToDictionary(q => q.QueryType),
            ReadModelSchemas = _readModelSchemas.ToArray(),
            Extensions = new Dictionary<Type, object>(_extensions),
        };
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
    IReadOnlyList<(Type Service, Type Implementation)> StreamingHandlers)
{
    /// <summary>The durable subscriptions and projections, each handler fed by one of them at most.</summary>
    public IReadOnlyList<SubscriptionDefinition> Subscriptions { get; init; } = [];

    /// <summary>Query handlers by query type.</summary>
    public IReadOnlyDictionary<Type, QueryHandlerRegistration> QueryHandlers { get; init; } = new Dictionary<Type, QueryHandlerRegistration>();

    /// <summary>Read-model schemas (projectors and others) created at start-up.</summary>
    public IReadOnlyList<Type> ReadModelSchemas { get; init; } = [];

    /// <summary>Integrations' registrations (the broker's publications and subscribers), by type.</summary>
    internal IReadOnlyDictionary<Type, object> Extensions { get; init; } = new Dictionary<Type, object>();

    /// <summary>An integration's registrations, or null when it registered nothing.</summary>
    internal T? Extension<T>() where T : class => Extensions.TryGetValue(typeof(T), out var extension) ? (T)extension : null;
}
