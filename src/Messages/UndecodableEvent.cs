namespace ActorEvents.Messages;

/// <summary>
/// Stands in for an event whose journal row cannot be decoded any more: its type name is not registered (renamed or
/// removed), or its payload does not match the registered type. It keeps the payload exactly as stored, so a dead letter
/// holding it can be inspected, and replayed once the type is registered again (the payload is decoded afresh then).
/// No handler or projector is ever given one: the runtime dead-letters it.
/// </summary>
/// <param name="TypeName">The stored type name (or, for a row another serializer wrote, its manifest).</param>
/// <param name="Version">The stored schema version (0 when unknown).</param>
/// <param name="RawData">The stored payload: its JSON text, or for a row that is not JSON a JSON string of its bytes in base64.</param>
/// <param name="Reason">Why it could not be decoded.</param>
public sealed record UndecodableEvent(string TypeName, int Version, string RawData, string Reason) : IEvent;
