using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>Operator requests: pause, resume, reset, rebuild, and the resolution of a projection's dead letters.</summary>
internal sealed partial class SubscriptionActor
{
    /// <summary>Registers <paramref name="handle"/> for every operator request.</summary>
    private void OperatorRequests(Action<object> handle)
    {
        Receive<PauseSubscription>(handle);
        Receive<ResumeSubscription>(handle);
        Receive<ResetSubscription>(handle);
        Receive<RebuildProjection>(handle);
        Receive<ResolveProjectionDeadLetter>(handle);
    }

    private void RunOperation(object request, IActorRef requester)
    {
        var name = _definition.Name;
        var checkpoints = _runtime.Checkpoints;
        switch (request)
        {
            case PauseSubscription when _paused:
                Reply(requester, "pause");
                Next();
                break;
            case PauseSubscription:
            {
                StopStream();
                var (expected, position) = (_tracker.Stored, _tracker.Position);
                RunOperationStep(requester, "pause", async () =>
                {
                    if (position != expected && !await checkpoints.AdvanceAsync(name, expected, position).ConfigureAwait(false))
                    {
                        throw new CheckpointMovedException(name, expected);
                    }

                    await checkpoints.SetPausedAsync(name, true).ConfigureAwait(false);
                }, () =>
                {
                    _tracker.Wrote(position);
                    _paused = true;
                    Resume();
                });
                break;
            }

            case ResumeSubscription when !_paused:
                Reply(requester, "resume");
                Next();
                break;
            case ResumeSubscription:
                RunOperationStep(requester, "resume", () => checkpoints.SetPausedAsync(name, false), () =>
                {
                    _paused = false;
                    Resume();
                });
                break;
            case ResetSubscription { Position: < 0 } reset:
                requester.Tell(SubscriptionRefusals.NegativePosition(name, reset.Position));
                Next();
                break;
            case ResetSubscription reset:
                StopStream();
                RunOperationStep(requester, "reset", () => SubscriptionReset.MoveWithinHeadAsync(_runtime.Head, _runtime.Database, _definition, reset.Position, reset.Rerun),
                    () => MovedTo(reset.Position, null));
                break;
            case RebuildProjection when _projection is null:
                requester.Tell(SubscriptionRefusals.NotAProjection(name));
                Next();
                break;
            case RebuildProjection:
            {
                StopStream();
                long head = 0;
                RunOperationStep(requester, "rebuild", async () =>
                {
                    head = (await _runtime.Head.LagAsync(_definition.Tag, 0).ConfigureAwait(false)).Head;
                    await SubscriptionReset.ClearProjectionAsync(_runtime.Scopes, _runtime.Database, _definition).ConfigureAwait(false);
                }, () => MovedTo(0, head > 0 ? head : null));
                break;
            }

            case ResolveProjectionDeadLetter resolve when _projection is null:
                requester.Tell(new DeadLetterOperationFailed(resolve.Id, $"'{name}' is not a projection: its handlers' dead letters are resolved by their handler pools."));
                Next();
                break;
            case ResolveProjectionDeadLetter resolve:
            {
                var projection = _projection;
                var checkpoint = _tracker.Stored;
                Run($"resolving dead letter {resolve.Id}", async () => new OperationCompleted(() => { }, requester, null,
                    resolve.Resolution == DeadLetterResolution.Purge
                        ? new DeadLettersPurged(await projection.PurgeAsync(checkpoint, CancellationToken.None).ConfigureAwait(false))
                        : await projection.ResolveAsync(resolve.Id, resolve.Resolution == DeadLetterResolution.Replay, checkpoint, CancellationToken.None)
                            .ConfigureAwait(false)),
                    StepKind.Operation, requester: requester);
                break;
            }
        }
    }

    private void MovedTo(long position, long? rebuildTarget)
    {
        _tracker.StartAt(position);
        _rebuildTarget = rebuildTarget;
        _failures = 0;
        Resume();
    }

    private void RunOperationStep(IActorRef requester, string operation, Func<Task> step, Action apply)
    {
        Run(operation, async () =>
        {
            await step().ConfigureAwait(false);
            return new OperationCompleted(apply, requester, operation, null);
        }, StepKind.Operation, requester: requester);
    }

    private void Completed(OperationCompleted completed)
    {
        _step = null;
        completed.Apply();
        if (completed.Reply is { } reply)
        {
            completed.Requester.Tell(reply);
        }
        else
        {
            Reply(completed.Requester, completed.Operation!);
        }

        Next();
    }

    private void OperationFailed(StepFailed failed, Exception error)
    {
        failed.Requester?.Tell(error is InvalidSubscriptionPositionException
            ? new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.InvalidPosition, error.Message)
            : new SubscriptionOperationFailed(_definition.Name, SubscriptionErrorCode.Failed, $"{failed.What} failed: {error.Message}"));
        if (error is CheckpointMovedException)
        {
            CheckpointMoved();
            return;
        }

        // An operator's request is not retried; the subscription goes on as before.
        if (error is not InvalidSubscriptionPositionException)
        {
            RecordError($"{failed.What} failed ({error.GetType().Name}: {error.Message})");
        }

        Resume();
    }

    private void Reply(IActorRef requester, string operation)
    {
        var name = _definition.Name;
        ReplyStatus(requester, status => new SubscriptionOperationCompleted(name, operation, status));
    }

    /// <summary>An operator's request has run: <see cref="Apply"/> takes its effect here; the requester gets <see cref="Reply"/>, or the status.</summary>
    private sealed record OperationCompleted(Action Apply, IActorRef Requester, string? Operation, object? Reply);
}

/// <summary>Which resolution of a projection's dead letter an operator asked for.</summary>
internal enum DeadLetterResolution
{
    /// <summary>Apply the event again, then its parked followers.</summary>
    Replay,

    /// <summary>Apply only its parked followers.</summary>
    Skip,

    /// <summary>Skip every dead letter of the projection.</summary>
    Purge,
}

/// <summary>
/// A projection's dead letter, to be resolved by the projection itself (wherever its singleton runs), so that its
/// followers are applied in order with what it projects. Reply: <see cref="DeadLetterReplayed"/>,
/// <see cref="DeadLetterSkipped"/>, <see cref="DeadLettersPurged"/> or <see cref="DeadLetterOperationFailed"/>.
/// </summary>
/// <param name="Name">The projection.</param>
/// <param name="Id">The dead letter (ignored for a purge).</param>
/// <param name="Resolution">What to do.</param>
internal sealed record ResolveProjectionDeadLetter(string Name, long Id, DeadLetterResolution Resolution);
