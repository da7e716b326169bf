using System.Collections.Concurrent;
using System.Reflection;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Serialization;

/// <summary>A registered wire type: its stable name, schema version and CLR type.</summary>
/// <param name="Name">Stable wire name.</param>
/// <param name="Version">Schema version.</param>
/// <param name="ClrType">The CLR type it maps to on this node.</param>
public sealed record RegisteredType(string Name, int Version, Type ClrType);

/// <summary>
/// The closed map of stable names to types. Only types registered here are ever serialized or
/// deserialized by ActorEvents; a name that is not in the map is refused, never resolved by reflection.
/// Registration happens at start-up; the map is frozen once the actor system starts.
/// </summary>
public sealed class MessageTypeRegistry
{
    private readonly ConcurrentDictionary<string, RegisteredType> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, RegisteredType> _byType = new();
    private volatile bool _frozen;

    /// <summary>All registered types.</summary>
    public IReadOnlyCollection<RegisteredType> All => _byType.Values.ToArray();

    /// <summary>Registers a type under the name given by its <see cref="MessageNameAttribute"/>.</summary>
    /// <exception cref="InvalidOperationException">The type has no attribute, or the name is taken by another type.</exception>
    public RegisteredType Register(Type type)
    {
        var attribute = type.GetCustomAttribute<MessageNameAttribute>()
            ?? throw new InvalidOperationException(
                $"Type '{type.FullName}' has no [MessageName] attribute: every command, event and state type needs a stable wire name.");
        return Register(type, attribute.Name, attribute.Version);
    }

    /// <summary>Registers a type under an explicit stable name.</summary>
    /// <exception cref="InvalidOperationException">The name is invalid or taken by another type, or the registry is frozen.</exception>
    public RegisteredType Register(Type type, string name, int version = 1)
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

    /// <summary>Stops further registrations.</summary>
    public void Freeze() => _frozen = true;

    /// <summary>Looks up the registration of a CLR type.</summary>
    public bool TryGet(Type type, out RegisteredType registered) => _byType.TryGetValue(type, out registered!);

    /// <summary>Looks up the registration of a stable name.</summary>
    public bool TryGet(string name, out RegisteredType registered) => _byName.TryGetValue(name, out registered!);

    /// <summary>The registration of a CLR type.</summary>
    /// <exception cref="UnregisteredTypeException">The type is not registered.</exception>
    public RegisteredType Get(Type type) =>
        TryGet(type, out var registered)
            ? registered
            : throw new UnregisteredTypeException($"Type '{type.FullName}' is not registered with ActorEvents; register it (with a [MessageName]) before persisting or sending it.");

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
