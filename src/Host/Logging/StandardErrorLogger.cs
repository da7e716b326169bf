using Akka.Event;

namespace ActorEvents.Host.Logging;

/// <summary>
/// Akka's minimal logger (<c>akka.stdout-logger-class</c>), used before the Microsoft.Extensions.Logging bridge has
/// started and after it has stopped (e.g. "Remoting shut down" while the actor system ends). It writes to stderr
/// instead of stdout, so that a verb's output on stdout (<c>--json</c>) is never followed by log lines, and only
/// warnings and errors: the info lines of a stopping system ("Remoting shut down") are not worth a line.
/// </summary>
public sealed class StandardErrorLogger : MinimalLogger
{
    /// <summary>The HOCON that makes Akka use this logger.</summary>
    public const string Hocon = "akka.stdout-logger-class = \"ActorEvents.Host.Logging.StandardErrorLogger, ActorEvents.Host\"";

    /// <inheritdoc />
    protected override void Log(object message)
    {
        if (message is LogEvent logEvent && logEvent.LogLevel() >= Akka.Event.LogLevel.WarningLevel)
        {
            Console.Error.WriteLine(logEvent.ToString());
        }
    }
}
