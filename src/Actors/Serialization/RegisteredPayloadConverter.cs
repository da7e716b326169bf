using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Messages;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// Writes a command or event as <c>{"type": stable name, "version": n, "data": {...}}</c> and reads it back
/// only if the name is in the registry (when <paramref name="tolerant"/>, an event that cannot be read is an
/// <see cref="UndecodableEvent"/> holding the payload, which it writes back unchanged).
/// </summary>
internal sealed class RegisteredPayloadConverter<T>(MessageTypeRegistry registry, bool tolerant) : JsonConverter<T>
    where T : class
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(T);

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (tolerant && typeof(T) == typeof(IEvent))
        {
            return ReadTolerantly(ref reader, options);
        }

        // Fast path for what Write produces ("type" before "data"): one pass, no intermediate document.
        var probe = reader;
        if (probe.TokenType == JsonTokenType.StartObject && probe.Read() && probe.TokenType == JsonTokenType.PropertyName
            && probe.ValueTextEquals("type"u8) && probe.Read() && probe.TokenType == JsonTokenType.String)
        {
            var registered = Resolve(probe.GetString()!);
            var version = 0;
            while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
            {
                var isData = probe.ValueTextEquals("data"u8);
                var isVersion = !isData && probe.ValueTextEquals("version"u8);
                probe.Read();
                if (isVersion && probe.TokenType == JsonTokenType.Number && probe.TryGetInt32(out var stored))
                {
                    version = stored;
                    continue;
                }

                if (!isData)
                {
                    probe.Skip();
                    continue;
                }

                var value = ReadData(registered, version, ref probe, options);
                while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
                {
                    probe.Read();
                    probe.Skip();
                }

                reader = probe;
                return (T)value;
            }
        }

        return ReadAnyOrder(ref reader, options);
    }

    /// <summary>Reads the event, or keeps what cannot be read as an <see cref="UndecodableEvent"/>.</summary>
    private T ReadTolerantly(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var typeName = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        var version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("version", out var v) && v.TryGetInt32(out var n) ? n : 0;
        var data = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("data", out var d) ? d.GetRawText() : root.GetRawText();
        string reason;
        try
        {
            var registered = Resolve(typeName);
            if (ReadData(registered, version, root.GetProperty("data"), options) is T value)
            {
                return value;
            }

            reason = $"'{typeName}' data is null.";
        }
        catch (Exception e) when (e is UnregisteredTypeException or JsonException or KeyNotFoundException or InvalidOperationException or NotSupportedException)
        {
            reason = e.Message;
        }

        return (T)(object)new UndecodableEvent(typeName, version, data, reason);
    }

    private T ReadAnyOrder(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeName) || typeName.ValueKind != JsonValueKind.String)
        {
            throw new JsonException($"A {typeof(T).Name} payload needs a 'type' name.");
        }

        var registered = Resolve(typeName.GetString()!);
        if (!root.TryGetProperty("data", out var data))
        {
            throw new JsonException($"The {typeof(T).Name} payload '{registered.Name}' has no 'data'.");
        }

        var version = root.TryGetProperty("version", out var v) && v.TryGetInt32(out var n) ? n : 0;
        return (T)ReadData(registered, version, data, options);
    }

    /// <summary>
    /// Reads a payload's data stored as <paramref name="version"/>: an event through its upcasters (which may make an
    /// <see cref="UpcastEvents"/>), a command as it is.
    /// </summary>
    private object ReadData(RegisteredType registered, int version, ref Utf8JsonReader reader, JsonSerializerOptions options) =>
        typeof(T) == typeof(IEvent)
            ? registry.Upcasters.Read(registered, version, ref reader, options)
            : version > registered.Version
                ? throw new JsonException($"'{registered.Name}' v{version} is newer than the v{registered.Version} this node knows: it was sent by a newer version of the application.")
                : JsonSerializer.Deserialize(ref reader, registered.ClrType, options) ?? throw new JsonException($"'{registered.Name}' data is null.");

    private object ReadData(RegisteredType registered, int version, JsonElement data, JsonSerializerOptions options)
    {
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(data.GetRawText()));
        reader.Read();
        return ReadData(registered, version, ref reader, options);
    }

    private RegisteredType Resolve(string name)
    {
        var registered = registry.Get(name);
        return typeof(T).IsAssignableFrom(registered.ClrType)
            ? registered
            : throw new JsonException($"'{registered.Name}' is not a {typeof(T).Name}.");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (value is UndecodableEvent undecodable)
        {
            // Written back as it was stored, so that it decodes once its type is registered again.
            writer.WriteStartObject();
            writer.WriteString("type", undecodable.TypeName);
            writer.WriteNumber("version", undecodable.Version);
            writer.WritePropertyName("data");
            writer.WriteRawValue(undecodable.RawData);
            writer.WriteEndObject();
            return;
        }

        if (value is UpcastEvents)
        {
            throw new JsonException("Upcast events are written each in its own envelope (EventUpcasters.Upcast), never together.");
        }

        var registered = registry.Get(value.GetType());
        writer.WriteStartObject();
        writer.WriteString("type", registered.Name);
        writer.WriteNumber("version", registered.Version);
        writer.WritePropertyName("data");
        JsonSerializer.Serialize(writer, value, registered.ClrType, options);
        writer.WriteEndObject();
    }
}
