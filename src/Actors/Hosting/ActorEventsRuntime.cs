using Akka.Actor;
using Akka.Event;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// The parent of a node's ActorEvents actors (<c>/user/actor-events</c>): the handler pools (the request pool is the aggregates' event sink), the
/// dead-letter office and its replay router, the query dispatcher, the command mediator and the subscription office are
/// its children, started through it while the actor system starts (<see cref="ActorEventsRuntimeStart.StartChildAsync"/>). Its supervision is
/// explicit: a child that throws is restarted (its in-memory work — queued in-request items, requests waiting for their
/// handlers — is lost and those callers get <c>Timeout</c>; what is durable is read again), at most
/// <see cref="MaxRestarts"/> times within <see cref="RestartWindow"/>; a child that fails more often, or cannot be
/// created, is stopped, and a runtime missing one of its actors stops the node (coordinated shutdown, the reason logged)
/// rather than go on refusing or losing messages. Cluster singletons' managers and shard regions are not its children:
/// Akka.Cluster places them itself.
/// </summary>
internal sealed class ActorEventsRuntime : ReceiveActor
{
    /// <summary>The runtime's actor name under <c>/user</c>.</summary>
    public const string Name = "actor-events";

    /// <summary>Restarts a child may have within <see cref="RestartWindow"/> before it is stopped.</summary>
    public const int MaxRestarts = 10;

    /// <summary>The window of <see cref="MaxRestarts"/>.</summary>
    public static readonly TimeSpan RestartWindow = TimeSpan.FromMinutes(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Creates the runtime parent.</summary>
    public ActorEventsRuntime()
    {
        Receive<StartRuntimeChild>(start =>
        {
            var child = Context.Child(start.Name);
            if (child.IsNobody())
            {
                child = Context.ActorOf(start.Props, start.Name);
                Context.Watch(child);
            }

            Sender.Tell(child);
        });
        Receive<Terminated>(stopped =>
        {
            var shutdown = CoordinatedShutdown.Get(Context.System);
            if (shutdown.ShutdownReason is null)
            {
                _log.Error("ActorEvents runtime actor {0} stopped (it failed more than {1} times in {2}, or could not be created): stopping the node",
                    stopped.ActorRef.Path, MaxRestarts, RestartWindow);
                shutdown.Run(RuntimeActorStopped.Instance);
            }
        });
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(MaxRestarts, RestartWindow, error => error switch
    {
        ActorInitializationException or ActorKilledException or DeathPactException => Directive.Stop,
        _ => Directive.Restart,
    });

}

/// <summary>Runtime → its parent: start this child (or answer the one of that name), reply its reference.</summary>
internal sealed record StartRuntimeChild(Props Props, string Name);

/// <summary>Starting the runtime parent and its children, from the hosting's actor starters.</summary>
internal static class ActorEventsRuntimeStart
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts the runtime parent of a node.</summary>
    public static IActorRef Start(ActorSystem system) => system.ActorOf(Props.Create(() => new ActorEventsRuntime()), ActorEventsRuntime.Name);

    /// <summary>Starts a child of the runtime (or returns the one of that name) and answers its reference.</summary>
    public static Task<IActorRef> StartChildAsync(IActorRef runtime, Props props, string name) =>
        runtime.Ask<IActorRef>(new StartRuntimeChild(props, name), StartTimeout);
}

/// <summary>The reason a node stopped because one of its ActorEvents runtime actors stopped.</summary>
public sealed class RuntimeActorStopped : CoordinatedShutdown.Reason
{
    private RuntimeActorStopped()
    {
    }

    /// <summary>The reason.</summary>
    public static RuntimeActorStopped Instance { get; } = new();

    /// <inheritdoc />
    public override int ExitCode => 1;

    /// <inheritdoc />
    public override string ToString() => "An ActorEvents runtime actor stopped";
}
