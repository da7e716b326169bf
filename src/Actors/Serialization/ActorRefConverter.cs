using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;

namespace ActorEvents.Actors.Serialization;

/// <summary>Writes an actor reference as its full serialized path and resolves it on the receiving node.</summary>
internal sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
{
    public override bool CanConvert(Type typeToConvert) => typeof(IActorRef).IsAssignableFrom(typeToConvert);

    public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() is { Length: > 0 } path ? system.Provider.ResolveActorRef(path) : ActorRefs.Nobody;

    public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
}
