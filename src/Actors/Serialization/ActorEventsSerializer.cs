using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Serialization;

namespace ActorEvents.Actors.Serialization;

/// <summary>
/// Serializes every ActorEvents message, persisted event and snapshot with System.Text.Json and the closed
/// <see cref="MessageTypeRegistry"/>. The manifest is a stable name, never a CLR type name; a manifest or
/// embedded type name that is not registered is refused with a <see cref="SerializationException"/>. The messages the
/// runtime's rooms define (an aggregate's request, snapshot and stop; a subscription's control message) come with their
/// <see cref="IWireFormat"/>s, handed over when the node is wired.
/// </summary>
public sealed class ActorEventsSerializer : SerializerWithStringManifest
{
    /// <summary>Akka serializer id (must be unique in the actor system).</summary>
    public const int Id = 4747;

    /// <summary>The manifest of a persisted <see cref="EventEnvelope"/>.</summary>
    internal const string EnvelopeManifest = "ae.envelope";
    private const string AcceptedManifest = "ae.accepted";
    private const string RejectedManifest = "ae.rejected";
    private const string SubmitManifest = "ae.submit";

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
    private readonly WireContext _context;
    private readonly Dictionary<string, IWireFormat> _formatsByManifest;
    private readonly Dictionary<Type, IWireFormat> _formatsByType;

    /// <summary>Creates the serializer over a registry, with the wire formats of the runtime's own messages.</summary>
    internal ActorEventsSerializer(ExtendedActorSystem system, MessageTypeRegistry registry, IReadOnlyList<IWireFormat> formats) : base(system)
    {
        _registry = registry;
        _options = CreateOptions(registry);
        _context = new WireContext(registry, _options);
        _formatsByManifest = formats.ToDictionary(f => f.Manifest, StringComparer.Ordinal);
        _formatsByType = formats.ToDictionary(f => f.Type);
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The types this serializer is bound to in the actor system, with those of <paramref name="formats"/>.</summary>
    internal static IReadOnlyList<Type> BoundTypes(IReadOnlyList<IWireFormat> formats) =>
    [
        typeof(ICommand), typeof(IEvent), typeof(EventEnvelope), typeof(CommandResult), typeof(SubmitCommand),
        .. ControlManifests.Values,
        .. formats.Select(f => f.Type),
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
        CommandAccepted => AcceptedManifest,
        CommandRejected => RejectedManifest,
        SubmitCommand => SubmitManifest,
        _ when _formatsByType.TryGetValue(o.GetType(), out var format) => format.Manifest,
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
                _ when _formatsByType.TryGetValue(obj.GetType(), out var format) => format.Write(obj, _context),
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
                AcceptedManifest => Deserialize<CommandAccepted>(bytes),
                RejectedManifest => Deserialize<CommandRejected>(bytes),
                SubmitManifest => Deserialize<SubmitCommand>(bytes),
                _ when _formatsByManifest.TryGetValue(manifest, out var format) => format.Read(bytes, _context),
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

    private T Deserialize<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, _options) ?? throw new SerializationException($"Payload of {typeof(T).Name} is null.");
}
