using System.Text.Json;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Subscriptions.Sources;

/// <summary>
/// Decodes a journal row for a subscription, and never throws: a row that cannot be decoded any more (its event type
/// is no longer registered, its data no longer fits, or its serializer is unknown here) becomes an envelope holding an
/// <see cref="UndecodableEvent"/> with the stored payload, which the subscription dead-letters instead of stopping on it.
/// </summary>
internal sealed class JournalRowDecoder(ExtendedActorSystem system, MessageTypeRegistry types)
{
    private readonly JsonSerializerOptions _tolerant = ActorEventsSerializer.CreateOptions(types, tolerant: true);

    /// <summary>The row's message: normally what its serializer reads; else an envelope with an <see cref="UndecodableEvent"/>.</summary>
    public object Decode(JournalTableRow row)
    {
        try
        {
            return system.Serialization.Deserialize(row.Message, row.Identifier, row.Manifest);
        }
        catch (Exception error)
        {
            return Undecodable(row, error);
        }
    }

    private EventEnvelope Undecodable(JournalTableRow row, Exception error)
    {
        if (row.Identifier == ActorEventsSerializer.Id && row.Manifest == ActorEventsSerializer.EnvelopeManifest)
        {
            try
            {
                // The envelope's metadata is intact; only its event cannot be read (the tolerant reader keeps it raw).
                if (JsonSerializer.Deserialize<EventEnvelope>(row.Message, _tolerant) is { } envelope)
                {
                    return envelope;
                }
            }
            catch (JsonException)
            {
                // Not even the envelope is readable: kept as bytes below.
            }
        }

        var separator = row.PersistenceId.IndexOf('-');
        var (aggregateType, aggregateId) = separator > 0
            ? (row.PersistenceId[..separator], row.PersistenceId[(separator + 1)..])
            : (row.PersistenceId, row.PersistenceId);
        var reason = $"journal row {row.Ordering} (serializer {row.Identifier}, manifest '{row.Manifest}') cannot be read: {error.GetBaseException().Message}";
        return new EventEnvelope($"journal-{row.Ordering}", row.Manifest, 0, WrittenAt(row.Created), string.Empty,
            aggregateType, aggregateId, row.SequenceNumber, string.Empty, string.Empty, null,
            new UndecodableEvent(row.Manifest, 0, JsonSerializer.Serialize(Convert.ToBase64String(row.Message)), reason));
    }

    /// <summary>The row's <c>created</c> column (ticks), or the Unix epoch when it holds no valid time.</summary>
    private static DateTimeOffset WrittenAt(long created) =>
        created > 0 && created <= DateTimeOffset.MaxValue.UtcTicks ? new DateTimeOffset(created, TimeSpan.Zero) : DateTimeOffset.UnixEpoch;
}
