using System.Runtime.Serialization;
using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Serialization;

namespace ActorEvents.Actors.Supervision;

/// <summary>Which handler errors are permanent: no retry, straight to the dead-letter store.</summary>
public static class RetryPolicy
{
    /// <summary>
    /// Whether an error is permanent: <see cref="PermanentHandlerException"/>, an event that cannot be
    /// deserialized (<see cref="SerializationException"/>, <see cref="UnregisteredTypeException"/>), or a type
    /// listed in <see cref="RetryOptions.PermanentExceptions"/> (or a subclass of one).
    /// </summary>
    public static bool IsPermanent(this RetryOptions retry, Exception error) =>
        error is PermanentHandlerException or SerializationException or UnregisteredTypeException || retry.ListsAsPermanent(error);
}

/// <summary>Throw it from a handler when retrying cannot help: the event goes straight to the dead-letter store.</summary>
/// <param name="message">Why.</param>
/// <param name="inner">The cause.</param>
public sealed class PermanentHandlerException(string message, Exception? inner = null) : Exception(message, inner);
