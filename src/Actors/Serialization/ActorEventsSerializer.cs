using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Serialization;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// Serializes every ActorEvents message, persisted event and snapshot with System.Text.Json and the closed
/// <see cref="MessageTypeRegistry"/>. The manifest is a stable name, never a CLR type name; a manifest or
/// embedded type name that is not registered is refused with a <see cref="SerializationException"/>.
/// </summary>
public sealed class ActorEventsSerializer : SerializerWithStringManifest
{
    /// <summary>Akka serializer id (must be unique in the actor system).</summary>
    public const int Id = 4747;

    /// <summary>The manifest of a persisted <see cref="EventEnvelope"/>.</summary>
    internal const string EnvelopeManifest = "ae.envelope";
    private const string RequestManifest = "ae.aggregate-request";
    private const string AcceptedManifest = "ae.accepted";
    private const string RejectedManifest = "ae.rejected";
    private const string SubmitManifest = "ae.submit";
    private const string SnapshotManifest = "ae.snapshot";
    private const string StopManifest = "ae.stop";

    /// <summary>
    /// Operator messages: subscription control, which travels between a node's office and the node running the
    /// subscription, and the offices' requests and replies, which any node (or the tests) may send to another's office.
    /// </summary>
    private static readonly Dictionary<string, Type> ControlManifests = new(StringComparer.Ordinal)
    {
        ["ae.subscription.get-status"] = typeof(GetSubscriptionStatus),
        ["ae.subscription.status"] = typeof(SubscriptionStatus),
        ["ae.subscription.pause"] = typeof(PauseSubscription),
        ["ae.subscription.resume"] = typeof(ResumeSubscription),
        ["ae.subscription.reset"] = typeof(ResetSubscription),
        ["ae.subscription.rebuild"] = typeof(RebuildProjection),
        ["ae.subscription.completed"] = typeof(SubscriptionOperationCompleted),
        ["ae.subscription.failed"] = typeof(SubscriptionOperationFailed),
        ["ae.subscription.resolve-dead-letter"] = typeof(Subscriptions.ResolveProjectionDeadLetter),
        ["ae.subscription.status-report"] = typeof(SubscriptionStatusReport),
        ["ae.dlq.list"] = typeof(ListDeadLetters),
        ["ae.dlq.list-result"] = typeof(DeadLetterList),
        ["ae.dlq.inspect"] = typeof(InspectDeadLetter),
        ["ae.dlq.found"] = typeof(DeadLetterFound),
        ["ae.dlq.replay"] = typeof(ReplayDeadLetter),
        ["ae.dlq.replay-all"] = typeof(ReplayAllDeadLetters),
        ["ae.dlq.replayed-all"] = typeof(DeadLettersReplayed),
        ["ae.dlq.skip"] = typeof(SkipDeadLetter),
        ["ae.dlq.purge"] = typeof(PurgeDeadLetters),
        ["ae.dlq.replayed"] = typeof(DeadLetterReplayed),
        ["ae.dlq.skipped"] = typeof(DeadLetterSkipped),
        ["ae.dlq.purged"] = typeof(DeadLettersPurged),
        ["ae.dlq.failed"] = typeof(DeadLetterOperationFailed),
    };

    private static readonly Dictionary<Type, string> ControlTypes = ControlManifests.ToDictionary(m => m.Value, m => m.Key);

    private readonly MessageTypeRegistry _registry;
    private readonly JsonSerializerOptions _options;

    /// <summary>Creates the serializer over a registry.</summary>
    public ActorEventsSerializer(ExtendedActorSystem system, MessageTypeRegistry registry) : base(system)
    {
        _registry = registry;
        _options = CreateOptions(registry);
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The types this serializer is bound to in the actor system.</summary>
    public static IReadOnlyList<Type> BoundTypes { get; } =
    [
        typeof(ICommand), typeof(IEvent), typeof(EventEnvelope), typeof(AggregateRequest), typeof(CommandResult),
        typeof(SubmitCommand), typeof(AggregateSnapshot), typeof(AggregateStop),
        .. ControlManifests.Values,
    ];

    /// <summary>
    /// JSON options whose converters resolve commands and events through the registry only. No bound message carries an
    /// actor reference (the events a pool runs never leave their node; answers go to the ask's sender).
    /// </summary>
    /// <param name="registry">The closed type map.</param>
    /// <param name="tolerant">
    /// Reads an event whose type is not registered, or whose data does not fit its type, as an <see cref="UndecodableEvent"/>
    /// holding the stored payload, instead of failing (for the dead-letter store and the journal's readers).
    /// </param>
    public static JsonSerializerOptions CreateOptions(MessageTypeRegistry registry, bool tolerant = false)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new RegisteredPayloadConverter<IEvent>(registry, tolerant));
        options.Converters.Add(new RegisteredPayloadConverter<ICommand>(registry, tolerant: false));
        return options;
    }

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        EventEnvelope => EnvelopeManifest,
        AggregateRequest => RequestManifest,
        CommandAccepted => AcceptedManifest,
        CommandRejected => RejectedManifest,
        SubmitCommand => SubmitManifest,
        AggregateSnapshot => SnapshotManifest,
        AggregateStop => StopManifest,
        ICommand or IEvent => _registry.Get(o.GetType()).Name,
        _ when ControlTypes.TryGetValue(o.GetType(), out var manifest) => manifest,
        _ => throw new SerializationException($"ActorEventsSerializer cannot serialize '{o.GetType().FullName}'."),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        try
        {
            return obj switch
            {
                AggregateSnapshot snapshot => JsonSerializer.SerializeToUtf8Bytes(SnapshotDto.From(snapshot, _registry, _options), _options),
                AggregateStop => [],
                ICommand or IEvent => JsonSerializer.SerializeToUtf8Bytes(obj, _registry.Get(obj.GetType()).ClrType, _options),
                _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options),
            };
        }
        catch (UnregisteredTypeException e)
        {
            throw new SerializationException(e.Message, e);
        }
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            return manifest switch
            {
                EnvelopeManifest => Deserialize<EventEnvelope>(bytes),
                RequestManifest => ReadRequest(bytes),
                AcceptedManifest => Deserialize<CommandAccepted>(bytes),
                RejectedManifest => Deserialize<CommandRejected>(bytes),
                SubmitManifest => Deserialize<SubmitCommand>(bytes),
                SnapshotManifest => SnapshotDto.Read(bytes, _registry, _options),
                StopManifest => AggregateStop.Instance,
                _ when ControlManifests.TryGetValue(manifest, out var type) => JsonSerializer.Deserialize(bytes, type, _options)
                    ?? throw new SerializationException($"Payload of '{manifest}' is null."),
                _ => JsonSerializer.Deserialize(bytes, _registry.Get(manifest).ClrType, _options)
                     ?? throw new SerializationException($"Payload of '{manifest}' is null."),
            };
        }
        catch (UnregisteredTypeException e)
        {
            throw new SerializationException(e.Message, e);
        }
        catch (JsonException e)
        {
            throw new SerializationException($"Payload with manifest '{manifest}' is not valid: {e.Message}", e);
        }
    }

    /// <summary>
    /// A request, or, when its command cannot be read here (a type or version of a newer node), the request with an
    /// <see cref="UnreadableCommand"/>, so that its entity answers instead of the sender timing out.
    /// </summary>
    private AggregateRequest ReadRequest(byte[] bytes)
    {
        try
        {
            return Deserialize<AggregateRequest>(bytes);
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

    private T Deserialize<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, _options) ?? throw new SerializationException($"Payload of {typeof(T).Name} is null.");

    /// <summary>
    /// A snapshot as stored: its state's registered name and version, the state, and the recent commands. One that cannot be
    /// read any more (its state's version or shape changed, its type is gone, an event it holds cannot be read) is read as
    /// an <see cref="UnreadableSnapshot"/>, and the aggregate rebuilds its state from its events instead.
    /// </summary>
    private sealed record SnapshotDto(string StateType, JsonElement State, IReadOnlyList<string> RecentCommandIds, IReadOnlyList<RecentCommand>? RecentCommands = null,
        int StateVersion = 1)
    {
        public static SnapshotDto From(AggregateSnapshot snapshot, MessageTypeRegistry registry, JsonSerializerOptions options)
        {
            var registered = registry.Get(snapshot.State.GetType());
            return new SnapshotDto(registered.Name, JsonSerializer.SerializeToElement(snapshot.State, registered.ClrType, options), snapshot.RecentCommandIds,
                snapshot.RecentCommands, registered.Version);
        }

        public static AggregateSnapshot Read(byte[] bytes, MessageTypeRegistry registry, JsonSerializerOptions options)
        {
            SnapshotDto? dto = null;
            try
            {
                dto = JsonSerializer.Deserialize<SnapshotDto>(bytes, options) ?? throw new JsonException("The snapshot is null.");
                if (!registry.TryGet(dto.StateType, out var registered))
                {
                    return Unreadable(dto, $"its state type '{dto.StateType}' is not registered");
                }

                if (registered.Version != dto.StateVersion)
                {
                    return Unreadable(dto, $"its state is '{dto.StateType}' v{dto.StateVersion}, and this node's is v{registered.Version}");
                }

                var state = dto.State.Deserialize(registered.ClrType, options) ?? throw new JsonException($"Snapshot state '{dto.StateType}' is null.");
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
    }
}
