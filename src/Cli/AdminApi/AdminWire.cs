using System.Text.Json;
using ActorEvents.Actors.Serialization;

namespace ActorEvents.Cli.AdminApi;

/// <summary>The admin API's paths and JSON, shared by the node that serves it and the client that calls it.</summary>
internal static class AdminWire
{
    /// <summary>Prefix of every admin route.</summary>
    public const string Root = "/admin";

    public const string DeadLetters = Root + "/dead-letters";

    public const string Subscriptions = Root + "/subscriptions";

    /// <summary>The header that carries the admin token (<c>Authorization: Bearer …</c>).</summary>
    public const string Scheme = "Bearer";

    /// <summary>JSON of the registered event types (envelopes carry them), enums as strings.</summary>
    public static JsonSerializerOptions Json(MessageTypeRegistry types) => ActorEventsSerializer.CreateOptions(types);
}
