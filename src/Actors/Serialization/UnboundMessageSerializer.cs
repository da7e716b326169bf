using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// Bound to <c>System.Object</c> in place of Akka's default JSON serializer (<see cref="Configuration.NodeOptions.RefuseUnboundMessages"/>):
/// a message that no serializer is bound to is refused, loudly, instead of travelling as JSON with CLR type names.
/// </summary>
internal sealed class UnboundMessageSerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>Akka serializer id (unique in the actor system).</summary>
    public const int Id = 4748;

    /// <summary>Serializer name in the HOCON.</summary>
    public const string Name = "actor-events-unbound";

    /// <summary>The HOCON that binds it to <c>System.Object</c> (prepended, so it wins over Akka's default binding).</summary>
    public static string Hocon => $$"""
        akka.actor.serializers.{{Name}} = "{{typeof(UnboundMessageSerializer).AssemblyQualifiedName}}"
        akka.actor.serialization-bindings { "System.Object" = {{Name}} }
        akka.actor.serialization-identifiers { "{{typeof(UnboundMessageSerializer).AssemblyQualifiedName}}" = {{Id}} }
        """;

    public override int Identifier => Id;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => throw Refused(obj.GetType().FullName);

    public override object FromBinary(byte[] bytes, Type type) => throw Refused(type?.FullName);

    private static SerializationException Refused(string? type) =>
        new($"'{type}' is bound to no serializer, and ActorEvents refuses Akka's default JSON (CLR type names) between nodes: " +
            "bind it to a serializer, or keep it on one node (ActorEvents:Node:RefuseUnboundMessages).");
}
