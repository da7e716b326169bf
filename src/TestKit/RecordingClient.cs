using ActorEvents.Actors.Mediator;
using ActorEvents.Messages;

namespace ActorEvents.TestKit;

/// <summary>A command a handler sent through <see cref="IActorEventsClient"/> during a handler scenario.</summary>
/// <param name="Command">The command.</param>
/// <param name="Metadata">The metadata it was sent with.</param>
public sealed record SentCommand(ICommand Command, CommandMetadata? Metadata);

/// <summary>
/// The <see cref="IActorEventsClient"/> of a handler scenario: records every command, answers it with
/// <see cref="Answer"/> (accepted with no events unless told otherwise); streaming requests and queries are refused.
/// </summary>
public sealed class RecordingClient : IActorEventsClient
{
    private readonly List<SentCommand> _sent = [];
    private readonly Lock _gate = new();

    /// <summary>How a sent command is answered.</summary>
    public Func<ICommand, CommandResult> Answer { get; set; } = command => new CommandAccepted("test", command.AggregateId, []) { CommandId = Guid.NewGuid().ToString("N") };

    /// <summary>The commands sent so far, in order.</summary>
    public IReadOnlyList<SentCommand> Sent
    {
        get
        {
            lock (_gate)
            {
                return [.. _sent];
            }
        }
    }

    /// <inheritdoc />
    public Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _sent.Add(new SentCommand(command, metadata));
        }

        return Task.FromResult(Answer(command));
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TResult> StreamAsync<TResult>(IStreamingRequest<TResult> request, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("A handler scenario runs no streaming requests; test them with a TestNode.");

    /// <inheritdoc />
    public Task<QueryResult<TResult>> QueryAsync<TResult>(IQuery<TResult> query, CancellationToken cancellationToken = default) =>
        Task.FromResult(new QueryResult<TResult>(default, new QueryError(QueryErrorCode.UnknownQuery, "A handler scenario runs no queries; test them with a TestNode.")));
}
