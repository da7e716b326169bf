using System.Collections.Concurrent;
using System.Reflection;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Serialization;

/// <summary>A registered wire type: its stable name, schema version and CLR type.</summary>
/// <param name="Name">Stable wire name.</param>
/// <param name="Version">Schema version.</param>
/// <param name="ClrType">The CLR type it maps to on this node.</param>
public sealed record RegisteredType(string Name, int Version, Type ClrType)
{
    /// <summary>An old version of its name (<see cref="MessageNameAttribute.Superseded"/>): read from old rows through its upcaster, never written.</summary>
    public bool Superseded { get; init; }
}

/// <summary>
/// The closed map of stable names to types. Only types registered here are ever serialized or
/// deserialized by ActorEvents; a name that is not in the map is refused, never resolved by reflection.
/// Registration happens at start-up; the map is frozen once the actor system starts.
/// It also holds the <see cref="EventUpcasters">upcasters</see> that read old versions of an event in today's shape.
/// </summary>
public sealed class MessageTypeRegistry
{
    private readonly ConcurrentDictionary<string, RegisteredType> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, RegisteredType> _byType = new();
    private readonly ConcurrentDictionary<Type, RegisteredType> _superseded = new();
    private volatile bool _frozen;

    /// <summary>Creates an empty registry.</summary>
    public MessageTypeRegistry() => Upcasters = new EventUpcasters(this);

    /// <summary>The upcasters of old event versions (registered before <see cref="Freeze"/>, which checks their chains).</summary>
    public EventUpcasters Upcasters { get; }

    /// <summary>The superseded (old, read-only) versions registered, by CLR type.</summary>
    internal IReadOnlyCollection<RegisteredType> SupersededTypes => _superseded.Values.ToArray();

    /// <summary>All registered types.</summary>
    public IReadOnlyCollection<RegisteredType> All => _byType.Values.ToArray();

    /// <summary>Registers a type under the name given by its <see cref="MessageNameAttribute"/>.</summary>
    /// <exception cref="InvalidOperationException">The type has no attribute, or the name is taken by another type.</exception>
    public RegisteredType Register(Type type)
    {
        var attribute = type.GetCustomAttribute<MessageNameAttribute>()
            ?? throw new InvalidOperationException(
                $"Type '{type.FullName}' has no [MessageName] attribute: every command, event and state type needs a stable wire name.");
        return attribute.Superseded ? RegisterSuperseded(type, attribute.Name, attribute.Version) : Register(type, attribute.Name, attribute.Version);
    }

    /// <summary>
    /// Registers an old version of a name, kept only to read the rows stored in its shape: its rows are read through the
    /// upcaster from its version, and it is never written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The name is invalid, another type is that version, or the registry is frozen.</exception>
    public RegisteredType RegisterSuperseded(Type type, string name, int version)
    {
        CheckRegistration(type, name, version);
        if (_superseded.TryGetValue(type, out var existing))
        {
            return existing.Name == name && existing.Version == version
                ? existing
                : throw new InvalidOperationException($"Type '{type.FullName}' is already registered as '{existing.Name}' v{existing.Version}; cannot register it as '{name}' v{version} too.");
        }

        if (_byType.ContainsKey(type))
        {
            throw new InvalidOperationException($"Type '{type.FullName}' is registered as a current type; it cannot be a superseded version of '{name}' too.");
        }

        if (_superseded.Values.FirstOrDefault(t => t.Name == name && t.Version == version) is { } twin)
        {
            throw new InvalidOperationException(
                $"'{name}' v{version} is already registered as '{twin.ClrType.FullName}'; cannot register '{type.FullName}' as that version too.");
        }

        var entry = new RegisteredType(name, version, type) { Superseded = true };
        _superseded[type] = entry;
        return entry;
    }

    private void CheckRegistration(Type type, string name, int version)
    {
        if (_frozen)
        {
            throw new InvalidOperationException($"Cannot register '{name}': the type registry is frozen once the actor system has started.");
        }

        if (string.IsNullOrWhiteSpace(name) || name.Any(char.IsWhiteSpace))
        {
            throw new InvalidOperationException($"'{name}' is not a valid stable name for '{type.FullName}'.");
        }

        if (version < 1)
        {
            throw new InvalidOperationException($"Schema version of '{name}' must be at least 1.");
        }
    }

    /// <summary>Registers a type under an explicit stable name.</summary>
    /// <exception cref="InvalidOperationException">The name is invalid or taken by another type, or the registry is frozen.</exception>
    public RegisteredType Register(Type type, string name, int version = 1)
    {
        CheckRegistration(type, name, version);
        if (_superseded.TryGetValue(type, out var superseded))
        {
            throw new InvalidOperationException($"Type '{type.FullName}' is registered as a superseded version of '{superseded.Name}'; it cannot be a current type too.");
        }

        var entry = new RegisteredType(name, version, type);
        if (_byName.TryGetValue(name, out var existing) && existing.ClrType != type)
        {
            throw new InvalidOperationException(
                $"Stable name '{name}' is already registered for '{existing.ClrType.FullName}'; cannot register it for '{type.FullName}' too.");
        }

        if (_byType.TryGetValue(type, out var byType) && byType.Name != name)
        {
            throw new InvalidOperationException(
                $"Type '{type.FullName}' is already registered as '{byType.Name}'; cannot register it as '{name}' too.");
        }

        _byName[name] = entry;
        _byType[type] = entry;
        return entry;
    }

    /// <summary>Stops further registrations, after checking the upcasters' chains.</summary>
    /// <exception cref="InvalidOperationException">
    /// A chain has a gap, an upcaster starts at a version that is not older than its type's, or a superseded type has no upcaster.
    /// </exception>
    public void Freeze()
    {
        if (!_frozen)
        {
            Upcasters.Validate();
        }

        _frozen = true;
    }

    /// <summary>Whether registrations are closed.</summary>
    internal bool Frozen => _frozen;

    /// <summary>Looks up the registration of a CLR type that may be written (a superseded version is not found here).</summary>
    public bool TryGet(Type type, out RegisteredType registered) => _byType.TryGetValue(type, out registered!);

    /// <summary>Looks up the registration of a CLR type, current or superseded (for reading).</summary>
    internal bool TryGetAny(Type type, out RegisteredType registered) =>
        _byType.TryGetValue(type, out registered!) || _superseded.TryGetValue(type, out registered!);

    /// <summary>Why a CLR type cannot be written: it is not registered, or it is a superseded version.</summary>
    public string NotWritable(Type type) => _superseded.TryGetValue(type, out var old)
        ? $"Type '{type.FullName}' is '{old.Name}' v{old.Version}, a superseded version: it is only read from old rows, never written. "
          + (TryGet(old.Name, out var current) ? $"Write '{current.ClrType.Name}' (v{current.Version}) instead." : "")
        : $"Type '{type.FullName}' is not registered with ActorEvents; register it (with a [MessageName]) before persisting or sending it.";

    /// <summary>Looks up the registration of a stable name.</summary>
    public bool TryGet(string name, out RegisteredType registered) => _byName.TryGetValue(name, out registered!);

    /// <summary>The registration of a CLR type.</summary>
    /// <exception cref="UnregisteredTypeException">The type is not registered.</exception>
    public RegisteredType Get(Type type) =>
        TryGet(type, out var registered)
            ? registered
            : throw new UnregisteredTypeException(NotWritable(type));

    /// <summary>The registration of a stable name.</summary>
    /// <exception cref="UnregisteredTypeException">The name is not registered.</exception>
    public RegisteredType Get(string name) =>
        TryGet(name, out var registered)
            ? registered
            : throw new UnregisteredTypeException($"Stable type name '{name}' is not registered with ActorEvents; refusing to deserialize it.");
}

/// <summary>A type or stable name is not in the closed type map.</summary>
/// <param name="message">What was not registered.</param>
public sealed class UnregisteredTypeException(string message) : Exception(message);
