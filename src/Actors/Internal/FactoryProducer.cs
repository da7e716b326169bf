using Akka.Actor;

namespace ActorEvents.Actors.Internal;

/// <summary>
/// Creates an actor with a factory, so that a public actor type (the key an application finds it under in the actor
/// registry) can keep its constructor internal: Akka's expression props would look for a public constructor.
/// </summary>
/// <typeparam name="TActor">The actor.</typeparam>
internal sealed class FactoryProducer<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
{
    public Type ActorType => typeof(TActor);

    public ActorBase Produce() => create();

    public void Release(ActorBase actor)
    {
    }

    /// <summary>Props that create the actor with <paramref name="create"/>.</summary>
    public static Props Props(Func<TActor> create) => Akka.Actor.Props.CreateBy(new FactoryProducer<TActor>(create));
}
