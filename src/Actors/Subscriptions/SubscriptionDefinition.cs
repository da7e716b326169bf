using System.Text.RegularExpressions;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions.Sinks;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>A subscription or projection as registered on the domain builder, before it is resolved.</summary>
/// <param name="Name">Subscription name.</param>
/// <param name="Options">What it reads and how it is tuned.</param>
/// <param name="ProjectorType">The projector, for a projection; null for a handler subscription.</param>
public sealed record SubscriptionRegistration(string Name, SubscriptionOptions Options, Type? ProjectorType)
{
    /// <summary>For a subscription with its own sink (a broker publisher): what it is, and how its sink is made on the node that runs it.</summary>
    internal (SubscriptionKind Kind, Func<SubscriptionSinkContext, ISubscriptionSink> Create)? Sink { get; init; }
}

/// <summary>What a subscription's own sink is made from, on the node that runs the subscription.</summary>
/// <param name="Definition">The subscription.</param>
/// <param name="Runtime">What the node's subscriptions share (DI scopes, the database, the type map).</param>
/// <param name="Log">The subscription's log.</param>
internal sealed record SubscriptionSinkContext(SubscriptionDefinition Definition, SubscriptionRuntime Runtime, Akka.Event.ILoggingAdapter Log);

/// <summary>One resolved subscription: what it reads, its profile, and the durable handlers or the projector it feeds.</summary>
public sealed class SubscriptionDefinition
{
    internal SubscriptionDefinition(string name, SubscriptionKind kind, string? tag, SubscriptionProfile profile, HandlerSubscriptionTable handlers, Type? projectorType)
    {
        Name = name;
        Kind = kind;
        Tag = tag;
        Profile = profile;
        Handlers = handlers;
        ProjectorType = projectorType;
    }

    /// <summary>Unique name; also its checkpoint's key and (prefixed) its singleton's actor name.</summary>
    public string Name { get; }

    /// <summary>Handlers or projection.</summary>
    public SubscriptionKind Kind { get; }

    /// <summary>The tag it reads, or null for every event.</summary>
    public string? Tag { get; }

    /// <summary>Its profile, with the overrides given in code.</summary>
    public SubscriptionProfile Profile { get; }

    /// <summary>The durable handlers it feeds (empty for a projection).</summary>
    public HandlerSubscriptionTable Handlers { get; }

    /// <summary>The projector (null for a handler subscription).</summary>
    public Type? ProjectorType { get; }

    /// <summary>Makes the sink of a subscription that brings its own (a publisher); null for handlers and projections.</summary>
    internal Func<SubscriptionSinkContext, ISubscriptionSink>? SinkFactory { get; init; }

    /// <summary>What it reads, for people: the tag or <c>all events</c>.</summary>
    public string Source => Tag ?? "all events";

    /// <summary>Names of the handlers it feeds, or the projector's type name.</summary>
    public IReadOnlyList<string> FedNames => ProjectorType is { } projector ? [projector.Name] : Handlers.Handlers.Select(h => h.Name).ToArray();
}

/// <summary>
/// Resolves the registered subscriptions and projections against the domain: names and tags are checked, and every
/// durable handler is given to exactly one subscription — the one that names it, else the one whose tag carries its
/// events, else a subscription of its own (named after it, reading its stream category). A handler that two
/// subscriptions would feed is refused: it would run twice for one event.
/// </summary>
public static partial class SubscriptionCatalog
{
    /// <summary>Resolves the subscriptions.</summary>
    /// <exception cref="InvalidOperationException">A name, tag, profile or handler assignment is wrong.</exception>
    public static IReadOnlyList<SubscriptionDefinition> Resolve(
        IReadOnlyList<SubscriptionRegistration> registrations, IReadOnlyList<HandlerDescriptor> handlers,
        IReadOnlyList<IAggregateDefinition> aggregates, MessageTypeRegistry types)
    {
        var durable = handlers.Where(h => (h.Delivery & HandlerDelivery.Durable) != 0).ToArray();
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal); // handler → subscription
        var resolved = new List<(int Order, SubscriptionDefinition Definition)>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        // Handlers named explicitly first, so a subscription that names none only takes what is left.
        foreach (var (registration, order) in registrations.Select((r, i) => (r, i)).OrderBy(r => r.r.Options.Handlers.Count == 0 ? 1 : 0))
        {
            var options = registration.Options;
            var name = CheckName(registration.Name);
            if (!names.Add(name))
            {
                throw new InvalidOperationException($"A subscription or projection named '{name}' is already registered.");
            }

            var eventTypes = EventTypesOf(options.Tag, aggregates, types, name);
            var isProjection = registration.ProjectorType is not null;
            var profile = (options.Profile is { } profileName
                    ? SubscriptionProfiles.Get(profileName)
                    : isProjection ? SubscriptionProfiles.Projection : SubscriptionProfiles.Production)
                .With(options.BatchSize, options.CheckpointEvery, options.PollInterval, options.MaxConcurrentHandlers)
                .Validated(name);
            if (registration.Sink is { } sink)
            {
                resolved.Add((order, new SubscriptionDefinition(name, sink.Kind, options.Tag, profile, new HandlerSubscriptionTable([]), null) { SinkFactory = sink.Create }));
                continue;
            }

            if (isProjection)
            {
                if (options.Handlers.Count > 0)
                {
                    throw new InvalidOperationException($"Projection '{name}' feeds its projector only; it cannot name handlers.");
                }

                resolved.Add((order, new SubscriptionDefinition(name, SubscriptionKind.Projection, options.Tag, profile, new HandlerSubscriptionTable([]), registration.ProjectorType)));
                continue;
            }

            var fed = new List<HandlerDescriptor>();
            if (options.Handlers.Count > 0)
            {
                foreach (var handlerName in options.Handlers)
                {
                    var handler = handlers.FirstOrDefault(h => h.Name == handlerName)
                        ?? throw new InvalidOperationException($"Subscription '{name}' names handler '{handlerName}', which is not registered.");
                    if ((handler.Delivery & HandlerDelivery.Durable) == 0)
                    {
                        throw new InvalidOperationException(
                            $"Subscription '{name}' names handler '{handlerName}', which is registered for in-request delivery only; set its Delivery to Durable or Both.");
                    }

                    fed.Add(handler);
                }
            }
            else
            {
                fed.AddRange(durable.Where(h => !claimed.ContainsKey(h.Name) && Reaches(h, eventTypes)));
            }

            foreach (var handler in fed)
            {
                if (claimed.TryGetValue(handler.Name, out var other))
                {
                    throw new InvalidOperationException(
                        $"Handler '{handler.Name}' is fed by subscriptions '{other}' and '{name}'; it would run twice for one event. Name it in one of them only.");
                }

                claimed[handler.Name] = name;
            }

            resolved.Add((order, new SubscriptionDefinition(name, SubscriptionKind.Handlers, options.Tag, profile, new HandlerSubscriptionTable(fed.Distinct().ToArray()), null)));
        }

        foreach (var handler in durable.Where(h => !claimed.ContainsKey(h.Name)))
        {
            // Protean's default: a durable handler of its own reads its stream category (every event without one).
            var name = CheckName(InvalidNameCharacters().Replace(handler.Name, "-"));
            if (!names.Add(name))
            {
                name = CheckName(name + "-handler");
                names.Add(name);
            }

            var tag = handler.StreamCategory is { } category ? AggregateTags.AggregatePrefix + category : null;
            resolved.Add((registrations.Count + resolved.Count, new SubscriptionDefinition(name, SubscriptionKind.Handlers, tag, SubscriptionProfiles.Production, new HandlerSubscriptionTable([handler]), null)));
        }

        return resolved.OrderBy(r => r.Order).Select(r => r.Definition).ToArray();
    }

    private static string CheckName(string name) => ValidName().IsMatch(name)
        ? name
        : throw new InvalidOperationException(
            $"'{name}' is not a valid subscription name: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.");

    /// <summary>The event CLR types a tag carries (every registered event type for all events).</summary>
    private static (IAggregateDefinition Aggregate, Type Event)[] EventTypesOf(string? tag, IReadOnlyList<IAggregateDefinition> aggregates, MessageTypeRegistry types, string subscription)
    {
        var all = aggregates
            .SelectMany(a => a.MessageTypes().Where(t => a.EventType.IsAssignableFrom(t)).Select(t => (Definition: a, t)))
            .ToArray();
        if (tag is null)
        {
            return all;
        }

        if (tag.StartsWith(AggregateTags.AggregatePrefix, StringComparison.Ordinal))
        {
            var aggregate = tag[AggregateTags.AggregatePrefix.Length..];
            return aggregates.Any(a => a.Name == aggregate)
                ? all.Where(e => e.Definition.Name == aggregate).ToArray()
                : throw new InvalidOperationException($"Subscription '{subscription}' reads tag '{tag}', but no aggregate named '{aggregate}' is registered.");
        }

        if (tag.StartsWith(AggregateTags.EventPrefix, StringComparison.Ordinal))
        {
            var eventName = tag[AggregateTags.EventPrefix.Length..];
            return types.TryGet(eventName, out var registered) && all.Any(e => e.t == registered.ClrType)
                ? all.Where(e => e.t == registered.ClrType).ToArray()
                : throw new InvalidOperationException($"Subscription '{subscription}' reads tag '{tag}', but no aggregate persists an event named '{eventName}'.");
        }

        throw new InvalidOperationException(
            $"Subscription '{subscription}' reads tag '{tag}': a tag is '{AggregateTags.AggregatePrefix}<aggregate>' or '{AggregateTags.EventPrefix}<event name>' (no tag: all events).");
    }

    /// <summary>Whether a handler takes any of these events (its stream category and event types; its origin-stream filter is applied per event).</summary>
    private static bool Reaches(HandlerDescriptor handler, (IAggregateDefinition Aggregate, Type Event)[] events) =>
        events.Any(e => (handler.StreamCategory is null || handler.StreamCategory == e.Aggregate.Name)
            && (handler.HandlesAnyEvent || handler.HandledTypes.Any(t => t.IsAssignableFrom(e.Event))));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex ValidName();

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex InvalidNameCharacters();
}
