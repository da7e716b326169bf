using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// The transforms that read an old version of an event in today's shape. A stored payload names its event and schema
/// version; when that version is older than the registered type's, the chain of upcasters from it runs (v1 → v2 → v3:
/// one upcaster per version, typed or raw JSON) and the newest version comes out: one event, several, or none. Rows of a
/// version older than the first upcaster of a name are read straight into the current type (changes that needed none,
/// such as an added optional property). Writers always write the newest version.
/// </summary>
/// <remarks>
/// Everything that reads stored events goes through <see cref="RegisteredPayloadConverter{T}"/>, which runs the chain,
/// and then <see cref="Upcast"/>, which gives each resulting event its own envelope (aggregate recovery, subscriptions
/// and projections, the dead-letter store). Registration errors (a gap in a chain, two upcasters for one version, a
/// version not older than the type's, a superseded type without an upcaster) fail <see cref="MessageTypeRegistry.Freeze"/>.
/// </remarks>
public sealed class EventUpcasters
{
    /// <summary>Steps one chain may take at most (a guard against upcasters that lead back to an older version).</summary>
    private const int MaxSteps = 64;

    private readonly MessageTypeRegistry _registry;
    private readonly Dictionary<(string Name, int Version), Upcaster> _steps = [];

    internal EventUpcasters(MessageTypeRegistry registry) => _registry = registry;

    /// <summary>How many upcasters are registered.</summary>
    public int Count => _steps.Count;

    /// <summary>Whether any upcaster is registered for <paramref name="name"/>.</summary>
    public bool Covers(string name) => _steps.Keys.Any(k => k.Name == name);

    /// <summary>
    /// Registers a typed upcaster from <typeparamref name="TOld"/> (an old version, marked
    /// <c>[MessageName(name, Version = n, Superseded = true)]</c>) to <typeparamref name="TNew"/> (the next version of the
    /// name: the current type or another superseded one).
    /// </summary>
    public void Add<TOld, TNew>(Func<TOld, TNew> upcast) where TOld : class where TNew : class
    {
        ArgumentNullException.ThrowIfNull(upcast);
        var old = Superseded(typeof(TOld));
        if (!_registry.TryGetAny(typeof(TNew), out _) && typeof(TNew).GetCustomAttribute<MessageNameAttribute>() is { Superseded: true })
        {
            // An intermediate version (v2 of v1 → v2 → v3): registered as the old version it is, for the next step to start from.
            _registry.Register(typeof(TNew));
        }

        Add(new TypedUpcaster(old, typeof(TNew), $"Upcast<{typeof(TOld).Name}, {typeof(TNew).Name}>", o => [upcast((TOld)o)]));
    }

    /// <summary>
    /// Registers a typed upcaster from <typeparamref name="TOld"/> to any number of events (none: the event is no longer
    /// meaningful; several: it is split). Each event it returns is registered, current or superseded (then its own chain runs on).
    /// </summary>
    public void AddToMany<TOld>(Func<TOld, IEnumerable<IEvent>> upcast) where TOld : class
    {
        ArgumentNullException.ThrowIfNull(upcast);
        var old = Superseded(typeof(TOld));
        Add(new TypedUpcaster(old, null, $"UpcastToMany<{typeof(TOld).Name}>", o => upcast((TOld)o)));
    }

    /// <summary>
    /// Registers a raw JSON upcaster from version <paramref name="fromVersion"/> of <paramref name="name"/> to the next
    /// version, for when the old CLR type is gone: it gets the stored <c>data</c> object (camelCase property names, as
    /// written) and returns the data of version <paramref name="fromVersion"/> + 1.
    /// </summary>
    public void AddJson(string name, int fromVersion, Func<JsonObject, JsonObject> upcast)
    {
        ArgumentNullException.ThrowIfNull(upcast);
        Add(new JsonUpcaster(name, fromVersion, $"UpcastJson(\"{name}\", {fromVersion})", data => [upcast(data)]));
    }

    /// <summary>Registers a raw JSON upcaster that turns one stored version-<paramref name="fromVersion"/> payload into any number of the next version's.</summary>
    public void AddJsonToMany(string name, int fromVersion, Func<JsonObject, IEnumerable<JsonObject>> upcast)
    {
        ArgumentNullException.ThrowIfNull(upcast);
        Add(new JsonUpcaster(name, fromVersion, $"UpcastJsonToMany(\"{name}\", {fromVersion})", upcast));
    }

    private RegisteredType Superseded(Type old)
    {
        if (_registry.TryGetAny(old, out var registered))
        {
            return registered.Superseded
                ? registered
                : throw new InvalidOperationException(
                    $"'{old.Name}' is the current type of '{registered.Name}' (v{registered.Version}); an upcaster starts from an old version, marked [MessageName(\"{registered.Name}\", Version = n, Superseded = true)].");
        }

        var attribute = old.GetCustomAttribute<MessageNameAttribute>();
        if (attribute is not { Superseded: true })
        {
            throw new InvalidOperationException(
                $"'{old.FullName}' is the source of an upcaster: mark it [MessageName(\"{attribute?.Name ?? "name"}\", Version = {attribute?.Version ?? 1}, Superseded = true)] "
                + "(an old version, read from old rows and never written).");
        }

        return _registry.Register(old);
    }

    private void Add(Upcaster upcaster)
    {
        if (_registry.Frozen)
        {
            throw new InvalidOperationException($"Cannot register {upcaster}: the type registry is frozen once the actor system has started.");
        }

        if (upcaster.FromVersion < 1)
        {
            throw new InvalidOperationException($"{upcaster}: schema versions start at 1.");
        }

        var key = (upcaster.Name, upcaster.FromVersion);
        if (_steps.TryGetValue(key, out var existing))
        {
            throw new InvalidOperationException(
                $"Two upcasters for '{upcaster.Name}' v{upcaster.FromVersion}: {existing} and {upcaster}. One version has one upcaster (to split an event, return several).");
        }

        _steps[key] = upcaster;
    }

    /// <summary>Checks every chain: called by <see cref="MessageTypeRegistry.Freeze"/>.</summary>
    internal void Validate()
    {
        var problems = new List<string>();
        foreach (var old in _registry.SupersededTypes)
        {
            if (!_steps.ContainsKey((old.Name, old.Version)))
            {
                problems.Add($"'{old.ClrType.Name}' is '{old.Name}' v{old.Version}, superseded, but no upcaster starts from it: register Upcast<{old.ClrType.Name}, …>.");
            }
        }

        foreach (var chain in _steps.Values.GroupBy(s => s.Name))
        {
            var name = chain.Key;
            if (!_registry.TryGet(name, out var current))
            {
                problems.Add($"Upcasters are registered for '{name}', but no current type is registered under that name.");
                continue;
            }

            var versions = chain.Select(s => s.FromVersion).ToHashSet();
            foreach (var step in chain.OrderBy(s => s.FromVersion))
            {
                if (step.FromVersion >= current.Version)
                {
                    problems.Add($"{step} starts at v{step.FromVersion}, which is not older than '{name}' v{current.Version} ('{current.ClrType.Name}'): "
                        + $"raise the [MessageName] version of '{current.ClrType.Name}', or remove the upcaster.");
                }

                if (step is TypedUpcaster { Next: { } next } && Problem(step, next) is { } problem)
                {
                    problems.Add(problem);
                }
            }

            for (var version = versions.Min(); version < current.Version; version++)
            {
                if (!versions.Contains(version))
                {
                    problems.Add($"The chain of '{name}' has a gap: upcasters start from v{string.Join(", v", versions.Order())}, but none from v{version}, "
                        + $"so rows of v{version} could not be read as v{current.Version}. Register one (UpcastJson if its type is gone).");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Upcaster registration is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
        }
    }

    private string? Problem(Upcaster step, Type next)
    {
        if (!_registry.TryGetAny(next, out var target))
        {
            return $"{step} upcasts to '{next.Name}', which is not registered.";
        }

        return target.Name == step.Name && target.Version <= step.FromVersion
            ? $"{step} upcasts v{step.FromVersion} to '{next.Name}' (v{target.Version}): an upcaster leads to a newer version."
            : null;
    }

    /// <summary>
    /// Reads the <c>data</c> of a payload stored as version <paramref name="version"/> of <paramref name="current"/>'s name:
    /// straight into the current type, or through the chain of upcasters. Returns the event, or an <see cref="UpcastEvents"/>
    /// when the chain made none or several.
    /// </summary>
    /// <exception cref="JsonException">The version is newer than this node knows, the data does not fit, or an upcaster failed.</exception>
    internal object Read(RegisteredType current, int version, ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        if (version == current.Version || version <= 0 || !_steps.TryGetValue((current.Name, version), out var first))
        {
            if (version > current.Version)
            {
                throw new JsonException(
                    $"'{current.Name}' v{version} is newer than the v{current.Version} this node knows: it was written by a newer version of the application.");
            }

            return JsonSerializer.Deserialize(ref reader, current.ClrType, options) ?? throw new JsonException($"'{current.Name}' data is null.");
        }

        var results = new List<IEvent>(1);
        var steps = 0;
        Run(first, first.Read(ref reader, options), results, options, ref steps);
        return results.Count == 1 ? results[0] : new UpcastEvents(results);
    }

    private void Run(Upcaster step, object input, List<IEvent> results, JsonSerializerOptions options, ref int steps)
    {
        if (++steps > MaxSteps)
        {
            throw new JsonException($"Upcasting '{step.Name}' took more than {MaxSteps} steps: the upcasters lead back to older versions.");
        }

        List<object?> outputs;
        try
        {
            outputs = [.. step.Apply(step.Convert(input, options))];
        }
        catch (Exception e) when (e is not JsonException)
        {
            throw new JsonException($"{step} failed on a '{step.Name}' v{step.FromVersion} payload: {e.GetType().Name}: {e.Message}", e);
        }

        foreach (var output in outputs)
        {
            var (name, version) = output switch
            {
                null => throw new JsonException($"{step} returned null for a '{step.Name}' v{step.FromVersion} payload (return nothing to drop the event)."),
                JsonObject => (step.Name, step.FromVersion + 1),
                _ when _registry.TryGetAny(output.GetType(), out var registered) => (registered.Name, registered.Version),
                _ => throw new JsonException($"{step} returned a '{output.GetType().FullName}', which is not registered."),
            };
            var current = _registry.Get(name);
            if (version == current.Version)
            {
                results.Add(output is JsonObject json
                    ? json.Deserialize(current.ClrType, options) as IEvent ?? throw new JsonException($"{step} made '{name}' data that reads as null.")
                    : output as IEvent ?? throw new JsonException($"{step} returned a '{output.GetType().Name}', which is no event."));
            }
            else if (_steps.TryGetValue((name, version), out var next))
            {
                Run(next, output, results, options, ref steps);
            }
            else
            {
                throw new JsonException($"{step} made '{name}' v{version}, and no upcaster reads that version as v{current.Version}.");
            }
        }
    }

    /// <summary>
    /// The envelopes of a stored envelope in today's shape: one per event its upcasters made (none, one or several), each
    /// with its event's current name and version. They share the stored row's place (sequence number, journal ordering);
    /// the first keeps the stored event id, the others get <c>{id}.{n}</c> (stable, so de-duplication by id still holds).
    /// </summary>
    public IReadOnlyList<EventEnvelope> Upcast(EventEnvelope stored)
    {
        if (stored.Event is not UpcastEvents many)
        {
            return [Stamp(stored)];
        }

        var envelopes = new EventEnvelope[many.Events.Count];
        for (var i = 0; i < envelopes.Length; i++)
        {
            envelopes[i] = Stamp(stored with { EventId = i == 0 ? stored.EventId : $"{stored.EventId}.{i}", Event = many.Events[i] });
        }

        return envelopes;
    }

    private EventEnvelope Stamp(EventEnvelope envelope) =>
        envelope.Event is not UndecodableEvent && _registry.TryGet(envelope.Event.GetType(), out var registered)
        && (registered.Version != envelope.SchemaVersion || registered.Name != envelope.EventType)
            ? envelope with { EventType = registered.Name, SchemaVersion = registered.Version }
            : envelope;

    /// <summary>One version's step.</summary>
    private abstract class Upcaster(string name, int fromVersion, string description)
    {
        public string Name => name;

        public int FromVersion => fromVersion;

        /// <summary>The stored data, in the form <see cref="Apply"/> takes.</summary>
        public abstract object Read(ref Utf8JsonReader reader, JsonSerializerOptions options);

        /// <summary>What a previous step made (a <see cref="JsonObject"/> or an instance), in the form <see cref="Apply"/> takes.</summary>
        public abstract object Convert(object input, JsonSerializerOptions options);

        /// <summary>The next version's payloads: instances of registered types, or <see cref="JsonObject"/>s of version + 1.</summary>
        public abstract IEnumerable<object?> Apply(object input);

        public override string ToString() => description;
    }

    private sealed class TypedUpcaster(RegisteredType old, Type? next, string description, Func<object, IEnumerable<object?>> upcast)
        : Upcaster(old.Name, old.Version, description)
    {
        /// <summary>The type it makes (null: any registered event, several or none).</summary>
        public Type? Next => next;

        public override object Read(ref Utf8JsonReader reader, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize(ref reader, old.ClrType, options) ?? throw new JsonException($"'{old.Name}' v{old.Version} data is null.");

        public override object Convert(object input, JsonSerializerOptions options) => input switch
        {
            JsonObject json => json.Deserialize(old.ClrType, options) ?? throw new JsonException($"'{old.Name}' v{old.Version} data is null."),
            _ when old.ClrType.IsInstanceOfType(input) => input,
            _ => JsonSerializer.SerializeToNode(input, input.GetType(), options).Deserialize(old.ClrType, options)!,
        };

        public override IEnumerable<object?> Apply(object input) => upcast(input);
    }

    private sealed class JsonUpcaster(string name, int fromVersion, string description, Func<JsonObject, IEnumerable<JsonObject>> upcast)
        : Upcaster(name, fromVersion, description)
    {
        public override object Read(ref Utf8JsonReader reader, JsonSerializerOptions options) =>
            JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException($"'{Name}' v{FromVersion} data is not a JSON object.");

        public override object Convert(object input, JsonSerializerOptions options) => input as JsonObject
            ?? JsonSerializer.SerializeToNode(input, input.GetType(), options) as JsonObject
            ?? throw new JsonException($"'{Name}' v{FromVersion} data is not a JSON object.");

        public override IEnumerable<object?> Apply(object input) => upcast((JsonObject)input);
    }
}

/// <summary>
/// What reading one stored event gave when its upcasters made none or several: a stand-in that lives only between the
/// reader and <see cref="EventUpcasters.Upcast"/>, which gives each event its own envelope. It is never written.
/// </summary>
/// <param name="Events">The events, in order.</param>
internal sealed record UpcastEvents(IReadOnlyList<IEvent> Events) : IEvent;
