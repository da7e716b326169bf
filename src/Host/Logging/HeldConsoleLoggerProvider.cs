using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ActorEvents.Host.Logging;

/// <summary>
/// The console logger provider behind a gate: while <see cref="Hold"/> is in effect (the demo's live progress display),
/// log entries wait instead of being written between the display's redraws; when the last hold ends they are written,
/// in order, by the console logger itself (same formatter, same stderr). Its alias is <c>Console</c>, so
/// <c>Logging:Console:…</c> settings keep applying.
/// </summary>
[ProviderAlias("Console")]
public sealed class HeldConsoleLoggerProvider(ILoggerProvider console) : ILoggerProvider
{
    private static readonly ConcurrentQueue<Action> Held = new();
    private static readonly object Gate = new();
    private static int _holds;

    /// <summary>Holds console log entries until the returned handle is disposed (holds nest).</summary>
    public static IDisposable Hold()
    {
        lock (Gate)
        {
            _holds++;
        }

        return new Release();
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new HeldLogger(console.CreateLogger(categoryName));

    /// <inheritdoc />
    public void Dispose()
    {
        Flush();
        console.Dispose();
    }

    private static bool TryDefer(Action write)
    {
        lock (Gate)
        {
            if (_holds == 0)
            {
                return false;
            }

            Held.Enqueue(write);
            return true;
        }
    }

    private static void Flush()
    {
        while (Held.TryDequeue(out var write))
        {
            write();
        }
    }

    private sealed class Release : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
            {
                return;
            }

            bool last;
            lock (Gate)
            {
                last = --_holds == 0;
            }

            if (last)
            {
                Flush();
            }
        }
    }

    private sealed class HeldLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!TryDefer(() => inner.Log(logLevel, eventId, state, exception, formatter)))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
