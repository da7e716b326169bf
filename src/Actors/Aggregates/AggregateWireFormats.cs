using System.Runtime.Serialization;
using System.Text.Json;
using ActorEvents.Actors.Serialization;

namespace ActorEvents.Actors.Aggregates;

/// <summary>How an aggregate's messages cross nodes and reach the snapshot store: its request, its snapshot, its stop.</summary>
internal static class AggregateWireFormats
{
    /// <summary>The aggregate's wire formats.</summary>
    public static IReadOnlyList<IWireFormat> All { get; } = [new RequestFormat(), new SnapshotFormat(), new StopFormat()];

    /// <summary>
    /// A request, read back — or, when its command cannot be read here (a type or version of a newer node), the request
    /// with an <see cref="UnreadableCommand"/>, so that its entity answers instead of the sender timing out.
    /// </summary>
    private sealed class RequestFormat : IWireFormat
    {
        public string Manifest => "ae.aggregate-request";

        public Type Type => typeof(AggregateRequest);

        public byte[] Write(object message, WireContext context) => JsonSerializer.SerializeToUtf8Bytes((AggregateRequest)message, context.Json);

        public object Read(byte[] bytes, WireContext context)
        {
            try
            {
                return JsonSerializer.Deserialize<AggregateRequest>(bytes, context.Json) ?? throw new SerializationException("Payload of AggregateRequest is null.");
            }
            catch (Exception e) when (e is JsonException or UnregisteredTypeException)
            {
                using var document = JsonDocument.Parse(bytes);
                var root = document.RootElement;
                if (!root.TryGetProperty("aggregateId", out var id) || id.ValueKind != JsonValueKind.String
                    || !root.TryGetProperty("command", out var command) || command.ValueKind != JsonValueKind.Object)
                {
                    throw;
                }

                string? Text(JsonElement element, string name) => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                var version = command.TryGetProperty("version", out var v) && v.TryGetInt32(out var n) ? n : 0;
                return new AggregateRequest(
                    new UnreadableCommand(id.GetString()!, Text(command, "type") ?? "", version, e.Message),
                    Text(root, "commandId") ?? "", Text(root, "correlationId") ?? "", Text(root, "originStream"))
                {
                    TraceParent = Text(root, "traceParent"),
                };
            }
        }
    }

    /// <summary>The stop an entity is passivated with: no payload.</summary>
    private sealed class StopFormat : IWireFormat
    {
        public string Manifest => "ae.stop";

        public Type Type => typeof(AggregateStop);

        public byte[] Write(object message, WireContext context) => [];

        public object Read(byte[] bytes, WireContext context) => AggregateStop.Instance;
    }

    /// <summary>
    /// A snapshot as stored: its state's registered name and version, the state, and the recent commands. One that cannot be
    /// read any more (its state's version or shape changed, its type is gone, an event it holds cannot be read) is read as
    /// an <see cref="UnreadableSnapshot"/>, and the aggregate rebuilds its state from its events instead.
    /// </summary>
    private sealed class SnapshotFormat : IWireFormat
    {
        public string Manifest => "ae.snapshot";

        public Type Type => typeof(AggregateSnapshot);

        public byte[] Write(object message, WireContext context)
        {
            var snapshot = (AggregateSnapshot)message;
            var registered = context.Registry.Get(snapshot.State.GetType());
            var dto = new SnapshotDto(registered.Name, JsonSerializer.SerializeToElement(snapshot.State, registered.ClrType, context.Json), snapshot.RecentCommandIds,
                snapshot.RecentCommands, registered.Version);
            return JsonSerializer.SerializeToUtf8Bytes(dto, context.Json);
        }

        public object Read(byte[] bytes, WireContext context)
        {
            var registry = context.Registry;
            SnapshotDto? dto = null;
            try
            {
                dto = JsonSerializer.Deserialize<SnapshotDto>(bytes, context.Json) ?? throw new JsonException("The snapshot is null.");
                if (!registry.TryGet(dto.StateType, out var registered))
                {
                    return Unreadable(dto, $"its state type '{dto.StateType}' is not registered");
                }

                if (registered.Version != dto.StateVersion)
                {
                    return Unreadable(dto, $"its state is '{dto.StateType}' v{dto.StateVersion}, and this node's is v{registered.Version}");
                }

                var state = dto.State.Deserialize(registered.ClrType, context.Json) ?? throw new JsonException($"Snapshot state '{dto.StateType}' is null.");
                var recent = dto.RecentCommands?.Select(c => c with { Events = [.. c.Events.SelectMany(registry.Upcasters.Upcast)] }).ToArray();
                return new AggregateSnapshot(state, dto.RecentCommandIds, recent);
            }
            catch (Exception e) when (e is JsonException or UnregisteredTypeException or NotSupportedException or InvalidOperationException)
            {
                return Unreadable(dto, e.Message);
            }
        }

        private static AggregateSnapshot Unreadable(SnapshotDto? dto, string reason) =>
            new(new UnreadableSnapshot($"the snapshot{(dto is null ? "" : $" of '{dto.StateType}'")} cannot be read: {reason}"), []);

        private sealed record SnapshotDto(string StateType, JsonElement State, IReadOnlyList<string> RecentCommandIds, IReadOnlyList<RecentCommand>? RecentCommands = null,
            int StateVersion = 1);
    }
}
