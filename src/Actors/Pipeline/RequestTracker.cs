using ActorEvents.Messages;
using Akka.Actor;

namespace ActorEvents.Actors.Pipeline;

/// <summary>A message a pool sends once a request is answered.</summary>
/// <param name="To">Who gets it.</param>
/// <param name="Message">A completed <see cref="CommandAccepted"/> or a <see cref="DispatchCompleted"/>.</param>
internal readonly record struct RequestAnswer(IActorRef To, object Message);

/// <summary>
/// The requests of one handler pool that somebody waits for: how many of each request's items are still outstanding, the
/// outcomes so far, and what the request is answered with once its last item finished — a command's
/// <see cref="CommandAccepted"/> completed with its handler outcomes (to the command's caller), or a
/// <see cref="DispatchCompleted"/> (to whoever enqueued the work). A command's request also has a deadline: when it passes,
/// the caller is answered with <c>HandlersCompleted = false</c> and the request is forgotten (its items go on).
/// </summary>
internal sealed class RequestTracker
{
    private readonly Dictionary<long, Progress> _requests = new();
    private readonly PriorityQueue<long, DateTimeOffset> _deadlines = new();

    /// <summary>Requests waited for.</summary>
    public int Count => _requests.Count;

    /// <summary>The earliest deadline of a request still waited for (null: none).</summary>
    public DateTimeOffset? NextDeadline
    {
        get
        {
            while (_deadlines.TryPeek(out var id, out var deadline))
            {
                if (_requests.ContainsKey(id))
                {
                    return deadline;
                }

                _deadlines.Dequeue();
            }

            return null;
        }
    }

    /// <summary>
    /// Starts waiting for the items of <paramref name="work"/>; with no item, answers at once. A command answered after
    /// persist (<c>AwaitedReply.AfterHandlers</c> false) is not tracked: the pool answers it once it took the items.
    /// </summary>
    /// <returns>The answer to send now, if the work has no item.</returns>
    public RequestAnswer? Start(EnqueueWork work)
    {
        var answer = work.Reply is { AfterHandlers: true } reply ? new Progress(work.RequestId, reply.ReplyTo, reply.Accepted)
            : work.ReplyTo is { } replyTo ? new Progress(work.RequestId, replyTo, null)
            : null;
        if (answer is null)
        {
            return null;
        }

        if (work.Items.Count == 0)
        {
            return answer.Answer(completed: true);
        }

        answer.Outstanding = work.Items.Count;
        _requests[work.RequestId] = answer;
        if (work.Reply?.Deadline is { } deadline)
        {
            _deadlines.Enqueue(work.RequestId, deadline);
        }

        return null;
    }

    /// <summary>One more item of the request (a follow-up of one of its items).</summary>
    public void Expect(long requestId)
    {
        if (requestId != 0 && _requests.TryGetValue(requestId, out var progress))
        {
            progress.Outstanding++;
        }
    }

    /// <summary>An outcome that is no item of its own (a follow-up that could not be dispatched).</summary>
    public void Note(long requestId, HandlerOutcome outcome)
    {
        if (requestId != 0 && _requests.TryGetValue(requestId, out var progress))
        {
            progress.Outcomes.Add(outcome);
        }
    }

    /// <summary>An item of the request finished with <paramref name="outcome"/>.</summary>
    /// <returns>The request's answer, when this was its last item.</returns>
    public RequestAnswer? Finish(long requestId, HandlerOutcome outcome)
    {
        if (requestId == 0 || !_requests.TryGetValue(requestId, out var progress))
        {
            return null;
        }

        progress.Outcomes.Add(outcome);
        if (--progress.Outstanding > 0)
        {
            return null;
        }

        _requests.Remove(requestId);
        return progress.Answer(completed: true);
    }

    /// <summary>Answers every request whose deadline is at or before <paramref name="now"/>, with the outcomes so far, and forgets it.</summary>
    public IReadOnlyList<RequestAnswer> Expire(DateTimeOffset now)
    {
        List<RequestAnswer>? answers = null;
        while (_deadlines.TryPeek(out var id, out var deadline) && deadline <= now)
        {
            _deadlines.Dequeue();
            if (_requests.Remove(id, out var progress))
            {
                (answers ??= []).Add(progress.Answer(completed: false));
            }
        }

        return answers ?? (IReadOnlyList<RequestAnswer>)[];
    }

    private sealed class Progress(long requestId, IActorRef replyTo, CommandAccepted? accepted)
    {
        public int Outstanding { get; set; }

        public List<HandlerOutcome> Outcomes { get; } = [];

        public RequestAnswer Answer(bool completed) => new(replyTo, accepted is null
            ? new DispatchCompleted(requestId, [.. Outcomes])
            : accepted with { HandlersCompleted = completed, HandlerOutcomes = [.. Outcomes] });
    }
}
