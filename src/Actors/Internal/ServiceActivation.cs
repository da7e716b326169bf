using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Internal;

/// <summary>
/// Creates the user's handler, query handler, projector and schema classes in a DI scope: the registered service when
/// there is one, else a new instance through a constructor factory built once per type (what
/// <see cref="ActivatorUtilities.GetServiceOrCreateInstance(IServiceProvider, Type)"/> does, without resolving the
/// constructor again on every event).
/// </summary>
internal static class ServiceActivation
{
    private static readonly ConcurrentDictionary<Type, ObjectFactory> Factories = new();

    /// <summary>The service of <paramref name="type"/> from <paramref name="services"/>, or a new instance.</summary>
    public static object Create(IServiceProvider services, Type type) =>
        services.GetService(type)
        ?? Factories.GetOrAdd(type, static t => ActivatorUtilities.CreateFactory(t, Type.EmptyTypes))(services, null);
}
