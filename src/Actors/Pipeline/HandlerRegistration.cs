using System.Linq.Expressions;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Pipeline;

/// <summary>How a handler receives its events.</summary>
[Flags]
public enum HandlerDelivery
{
    /// <summary>In the command's request, right after persist (at-most-once; the reply can wait for it).</summary>
    InRequest = 1,

    /// <summary>From the journal through a checkpointed subscription (at-least-once).</summary>
    Durable = 2,

    /// <summary>Both.</summary>
    Both = InRequest | Durable,
}

/// <summary>Subscription options of a handler (Protean's <c>part_of</c>, <c>stream_category</c>, <c>source_stream</c>).</summary>
public sealed class HandlerOptions
{
    /// <summary>In-request dispatch (default), durable dispatch from the journal, or both.</summary>
    public HandlerDelivery Delivery { get; set; } = HandlerDelivery.InRequest;

    /// <summary>Unique handler name (default: the class name). Used in outcomes, ordering keys and the dead-letter store.</summary>
    public string? Name { get; set; }

    /// <summary>Aggregate the handler belongs to; its name is the default stream category.</summary>
    public string? PartOf { get; set; }

    /// <summary>Only events of this aggregate type (stream category). Default: <see cref="PartOf"/>; neither set = every stream.</summary>
    public string? StreamCategory { get; set; }

    /// <summary>Only events whose origin stream equals this.</summary>
    public string? SourceStream { get; set; }

    /// <summary>Changes this handler's retry policy, starting from the configured defaults (<c>ActorEvents:Pipeline:Retry</c>).</summary>
    public Action<Configuration.RetryOptions>? Retry { get; set; }
}

/// <summary>A handler class resolved at start-up: its name, filters, and one compiled invoker per event type.</summary>
public sealed class HandlerDescriptor
{
    private readonly IReadOnlyDictionary<Type, Func<object, IEvent, EventContext, Task>> _invokers;
    private readonly Func<object, EventEnvelope, EventContext, Task>? _anyInvoker;

    private HandlerDescriptor(string name, Type handlerType, HandlerDelivery delivery, string? streamCategory, string? sourceStream, Action<Configuration.RetryOptions>? retry,
        IReadOnlyDictionary<Type, Func<object, IEvent, EventContext, Task>> invokers, Func<object, EventEnvelope, EventContext, Task>? anyInvoker)
    {
        ConfigureRetry = retry;
        Delivery = delivery;
        Name = name;
        HandlerType = handlerType;
        StreamCategory = streamCategory;
        SourceStream = sourceStream;
        _invokers = invokers;
        _anyInvoker = anyInvoker;
    }

    /// <summary>Handler name.</summary>
    public string Name { get; }

    /// <summary>Handler class.</summary>
    public Type HandlerType { get; }

    /// <summary>How it receives events.</summary>
    public HandlerDelivery Delivery { get; }

    /// <summary>Effective stream category filter (null = all).</summary>
    public string? StreamCategory { get; }

    /// <summary>Origin stream filter (null = all).</summary>
    public string? SourceStream { get; }

    /// <summary>The handler's changes to the default retry policy.</summary>
    public Action<Configuration.RetryOptions>? ConfigureRetry { get; }

    /// <summary>The handler's retry policy given the configured defaults.</summary>
    public Configuration.RetryOptions RetryPolicy(Configuration.RetryOptions defaults)
    {
        var policy = defaults.Clone();
        ConfigureRetry?.Invoke(policy);
        return policy;
    }

    /// <summary>True for an any-event subscription.</summary>
    public bool HandlesAnyEvent => _anyInvoker is not null;

    /// <summary>The event types (possibly base types) with an <see cref="IHandle{TEvent}"/> method.</summary>
    public IEnumerable<Type> HandledTypes => _invokers.Keys;

    /// <summary>Whether the event's stream passes this handler's stream filters (category and origin stream).</summary>
    public bool PassesStreamFilters(EventEnvelope envelope) =>
        (StreamCategory is null || StreamCategory == envelope.AggregateType)
        && (SourceStream is null || SourceStream == envelope.OriginStream);

    /// <summary>Runs the handler for one event (every matching typed method, then the any-event method).</summary>
    public async Task InvokeAsync(object handler, EventEnvelope envelope, EventContext context)
    {
        var invoked = false;
        foreach (var (type, invoker) in _invokers)
        {
            if (type.IsInstanceOfType(envelope.Event))
            {
                invoked = true;
                await invoker(handler, envelope.Event, context).ConfigureAwait(false);
            }
        }

        if (_anyInvoker is not null)
        {
            invoked = true;
            await _anyInvoker(handler, envelope, context).ConfigureAwait(false);
        }

        if (!invoked)
        {
            throw new InvalidOperationException($"Handler '{Name}' has no method for '{envelope.EventType}'.");
        }
    }

    /// <summary>Resolves a handler class: its <see cref="IHandle{TEvent}"/> interfaces must name registered event types.</summary>
    /// <exception cref="InvalidOperationException">No handler interface, or an event type that is not registered.</exception>
    public static HandlerDescriptor Create(Type handlerType, HandlerOptions options, MessageTypeRegistry types)
    {
        var name = options.Name ?? handlerType.Name;
        var invokers = new Dictionary<Type, Func<object, IEvent, EventContext, Task>>();
        foreach (var handled in handlerType.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IHandle<>)))
        {
            var eventType = handled.GetGenericArguments()[0];
            var registered = types.All.Any(t => eventType.IsAssignableFrom(t.ClrType) && typeof(IEvent).IsAssignableFrom(t.ClrType));
            if (!registered)
            {
                throw new InvalidOperationException(
                    $"Handler '{name}' handles '{eventType.FullName}', which is not a registered event type. Register its aggregate (or AddMessageType<{eventType.Name}>()) first.");
            }

            invokers[eventType] = CompileInvoker(handled, eventType);
        }

        Func<object, EventEnvelope, EventContext, Task>? any = null;
        if (typeof(IHandleAnyEvent).IsAssignableFrom(handlerType))
        {
            any = (handler, envelope, context) => ((IHandleAnyEvent)handler).HandleAnyAsync(envelope, context);
        }

        if (invokers.Count == 0 && any is null)
        {
            throw new InvalidOperationException(
                $"'{handlerType.FullName}' implements neither IHandle<TEvent> nor IHandleAnyEvent, so it handles nothing.");
        }

        return new HandlerDescriptor(name, handlerType, options.Delivery, options.StreamCategory ?? options.PartOf, options.SourceStream, options.Retry, invokers, any);
    }

    private static Func<object, IEvent, EventContext, Task> CompileInvoker(Type handlerInterface, Type eventType)
    {
        var handler = Expression.Parameter(typeof(object), "handler");
        var @event = Expression.Parameter(typeof(IEvent), "event");
        var context = Expression.Parameter(typeof(EventContext), "context");
        var call = Expression.Call(
            Expression.Convert(handler, handlerInterface),
            handlerInterface.GetMethod(nameof(IHandle<IEvent>.HandleAsync))!,
            Expression.Convert(@event, eventType),
            context);
        return Expression.Lambda<Func<object, IEvent, EventContext, Task>>(call, handler, @event, context).Compile();
    }
}

/// <summary>Which handlers take which events: the pools' routing table.</summary>
public sealed class HandlerSubscriptionTable
{
    private readonly IReadOnlyList<HandlerDescriptor> _handlers;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, HandlerDescriptor[]> _byEventType = new();

    /// <summary>Creates the table.</summary>
    public HandlerSubscriptionTable(IReadOnlyList<HandlerDescriptor> handlers) => _handlers = handlers;

    /// <summary>All handlers.</summary>
    public IReadOnlyList<HandlerDescriptor> Handlers => _handlers;

    /// <summary>The handler with this name, or null.</summary>
    public HandlerDescriptor? Find(string name) => _handlers.FirstOrDefault(h => h.Name == name);

    /// <summary>The table of the handlers that take events by <paramref name="delivery"/>.</summary>
    public HandlerSubscriptionTable For(HandlerDelivery delivery) => new(_handlers.Where(h => (h.Delivery & delivery) != 0).ToArray());

    /// <summary>The handlers that take this event, in registration order.</summary>
    public IReadOnlyList<HandlerDescriptor> Match(EventEnvelope envelope)
    {
        var candidates = _byEventType.GetOrAdd(envelope.Event.GetType(),
            type => _handlers.Where(h => h.HandlesAnyEvent || h.HandledTypes.Any(t => t.IsAssignableFrom(type))).ToArray());
        if (candidates.Length == 0)
        {
            return [];
        }

        var matched = new List<HandlerDescriptor>(candidates.Length);
        foreach (var candidate in candidates)
        {
            // Candidates already handle the event's type (cached per type above): only the stream filters remain.
            if (candidate.PassesStreamFilters(envelope))
            {
                matched.Add(candidate);
            }
        }

        return matched;
    }
}
