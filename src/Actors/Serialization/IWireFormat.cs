using System.Runtime.Serialization;
using System.Text.Json;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// A message the serializer is bound to that a higher room of the runtime defines (an aggregate's request, snapshot and
/// stop; a subscription's control message): its stable manifest, its type, and how it is written and read. The rooms
/// hand theirs to the serializer when the node is wired, so the serializer knows none of them.
/// </summary>
internal interface IWireFormat
{
    /// <summary>The stable manifest (never a CLR type name).</summary>
    string Manifest { get; }

    /// <summary>The message type (bound to the serializer).</summary>
    Type Type { get; }

    /// <summary>Writes a message of <see cref="Type"/>.</summary>
    byte[] Write(object message, WireContext context);

    /// <summary>Reads a message written by <see cref="Write"/>.</summary>
    object Read(byte[] bytes, WireContext context);
}

/// <summary>What a wire format writes and reads with: the closed type map and the serializer's JSON options.</summary>
/// <param name="Registry">The closed type map.</param>
/// <param name="Json">JSON options whose converters resolve commands and events through the registry only.</param>
internal sealed record WireContext(MessageTypeRegistry Registry, JsonSerializerOptions Json);

/// <summary>A message written as plain JSON with the serializer's options.</summary>
/// <typeparam name="T">The message type.</typeparam>
/// <param name="manifest">Its stable manifest.</param>
internal sealed class JsonWireFormat<T>(string manifest) : IWireFormat
    where T : class
{
    /// <inheritdoc />
    public string Manifest { get; } = manifest;

    /// <inheritdoc />
    public Type Type => typeof(T);

    /// <inheritdoc />
    public byte[] Write(object message, WireContext context) => JsonSerializer.SerializeToUtf8Bytes((T)message, context.Json);

    /// <inheritdoc />
    public object Read(byte[] bytes, WireContext context) =>
        JsonSerializer.Deserialize<T>(bytes, context.Json) ?? throw new SerializationException($"Payload of '{Manifest}' is null.");
}
