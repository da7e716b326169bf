using ActorEvents.Actors.Aggregates;
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
        return new ActorEventsDomain(registry, _aggregates.ToArray(), commandOwners);
    }
}

/// <summary>The built, immutable domain: type map, aggregates and which aggregate owns each command type.</summary>
/// <param name="Types">The closed type map.</param>
/// <param name="Aggregates">The registered aggregates.</param>
/// <param name="CommandOwners">Command CLR type → owning aggregate.</param>
public sealed record ActorEventsDomain(
    MessageTypeRegistry Types,
    IReadOnlyList<AggregateRegistration> Aggregates,
    IReadOnlyDictionary<Type, AggregateRegistration> CommandOwners);
