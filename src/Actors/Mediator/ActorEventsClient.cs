using ActorEvents.Actors.Configuration;
using ActorEvents.Messages;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Mediator;

/// <summary>The client facade for code that is not an actor: send a command, get its one result.</summary>
public interface IActorEventsClient
{
    /// <summary>Sends a command through the node's mediator. Never throws for a refused or timed-out command: those come back as <see cref="CommandRejected"/>.</summary>
    Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default);
}

/// <summary>Sends commands to the <see cref="CommandMediator"/> registered in the actor registry.</summary>
public sealed class ActorEventsClient : IActorEventsClient
{
    private readonly IRequiredActor<CommandMediator> _mediator;
    private readonly TimeSpan _timeout;

    /// <summary>Creates the client.</summary>
    public ActorEventsClient(IRequiredActor<CommandMediator> mediator, IOptions<ActorEventsOptions> options)
    {
        _mediator = mediator;
        // The mediator answers a timeout itself; this margin only covers a mediator that is gone.
        _timeout = options.Value.Mediator.CommandTimeout + TimeSpan.FromSeconds(5);
    }

    /// <inheritdoc />
    public async Task<CommandResult> SendAsync(ICommand command, CommandMetadata? metadata = null, CancellationToken cancellationToken = default)
    {
        var mediator = await _mediator.GetAsync(cancellationToken).ConfigureAwait(false);
        var submit = new SubmitCommand(command, metadata ?? CommandMetadata.None);
        try
        {
            return await mediator.Ask<CommandResult>(submit, _timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return new CommandRejected(RejectionCode.Timeout, $"The mediator did not answer within {_timeout.TotalSeconds:0}s.")
            {
                CommandId = metadata?.CommandId ?? string.Empty,
            };
        }
    }
}
