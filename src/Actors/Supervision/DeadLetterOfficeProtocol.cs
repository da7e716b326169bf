using ActorEvents.Messages;
using Akka.Actor;
using DeadLetter = ActorEvents.Messages.DeadLetter;

namespace ActorEvents.Actors.Supervision;

// What the dead-letter office asks of the pools that run the entries' handlers (and of the router, for projections):
// the office's protocol, implemented by the pipeline.

/// <summary>Office → pool: replay a dead letter.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Requester">Who gets <see cref="DeadLetterReplayed"/> or <see cref="DeadLetterOperationFailed"/>.</param>
internal sealed record ReplayDeadLetterEntry(DeadLetter Entry, IActorRef Requester);

/// <summary>Office → pool: drop a dead letter and release its parked followers.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Requester">Who gets <see cref="DeadLetterSkipped"/>.</param>
internal sealed record SkipDeadLetterEntry(DeadLetter Entry, IActorRef Requester);

/// <summary>Office → pool: every dead letter was purged; run the followers recorded on those of this pool's handlers, release the rest.</summary>
/// <param name="Purged">The purged entries (taken from the store), with their recorded followers.</param>
internal sealed record ReleaseAllParked(IReadOnlyList<DeadLetter> Purged);

/// <summary>Office → router: a purge skips every dead letter of this projection, in the projection (reply: <see cref="DeadLettersPurged"/> or <see cref="DeadLetterOperationFailed"/>).</summary>
/// <param name="Projection">The projection's name.</param>
internal sealed record PurgeProjectionDeadLetters(string Projection);
