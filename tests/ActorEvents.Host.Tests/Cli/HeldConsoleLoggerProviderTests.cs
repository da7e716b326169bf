using ActorEvents.Host.Logging;
using Microsoft.Extensions.Logging;

namespace ActorEvents.Host.Tests.Cli;

/// <summary>The gate in front of the console logger that keeps log lines out of the demo's live progress display.</summary>
public sealed class HeldConsoleLoggerProviderTests
{
    [Fact]
    public void Should_hold_log_entries_while_held_and_write_them_in_order_through_the_console_logger_when_released()
    {
        var written = new List<string>();
        using var provider = new HeldConsoleLoggerProvider(new RecordingProvider(written));
        var logger = provider.CreateLogger("demo");

        logger.LogWarning("before");
        using (HeldConsoleLoggerProvider.Hold())
        {
            logger.LogWarning("during {N}", 1);
            logger.LogError("during {N}", 2);
            Assert.Equal(["before"], written);
        }

        logger.LogWarning("after");
        Assert.Equal(["before", "during 1", "during 2", "after"], written);
    }

    private sealed class RecordingProvider(List<string> written) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recording(written);

        public void Dispose()
        {
        }

        private sealed class Recording(List<string> written) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                written.Add(formatter(state, exception));
        }
    }
}
