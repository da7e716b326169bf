namespace ActorEvents.Messages;

/// <summary>
/// A command: a request to change one aggregate. Every command names the aggregate it targets.
/// Commands are plain immutable records; the runtime never looks at their CLR type name on the wire.
/// </summary>
public interface ICommand
{
    /// <summary>The id of the aggregate instance this command targets (e.g. an order number).</summary>
    string AggregateId { get; }
}

/// <summary>
/// A domain event: a fact an aggregate decided and persisted. Events are immutable records registered
/// under a stable name (see <see cref="MessageNameAttribute"/>).
/// </summary>
public interface IEvent;

/// <summary>
/// Gives a command, event or state record its stable wire name and schema version. The name is what is
/// persisted and sent between nodes, so renaming or moving the CLR type never breaks replay.
/// </summary>
/// <param name="name">Stable name, e.g. <c>order.placed</c>. Lower-case, dotted, never a CLR name.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MessageNameAttribute(string name) : Attribute
{
    /// <summary>The stable wire name.</summary>
    public string Name { get; } = name;

    /// <summary>Schema version of the payload; raise it when the shape changes incompatibly (and register an upcaster from the old version).</summary>
    public int Version { get; init; } = 1;

    /// <summary>
    /// Marks an old version of an event, kept only to read the rows stored in its shape: it is the source of a typed
    /// upcaster to the next version, and never written (writers always write the newest version of a name; persisting or
    /// sending a superseded type is refused).
    /// </summary>
    public bool Superseded { get; init; }
}
