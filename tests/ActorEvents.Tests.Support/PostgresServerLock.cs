namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// Keeps a test that stops the PostgreSQL server apart from every test using it, across the test assemblies that run
/// side by side: a lock file in the temp folder (flock on Linux) that each process holds shared while it has a test
/// database open (<see cref="Use"/>, counted per process) and the stopping test holds exclusively while the server is
/// down (<see cref="StopTheServerAsync"/>). A process that stops the server gives up its own shared hold meanwhile; a
/// database opened elsewhere waits until the server is back.
/// </summary>
public static class PostgresServerLock
{
    private static readonly string LockPath = Path.Combine(Path.GetTempPath(), "actorevents-postgresql-tests.lock");
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static readonly Lock Gate = new();
    private static readonly SemaphoreSlim OneStopAtATime = new(1, 1);
    private static int _users;
    private static FileStream? _shared;
    private static FileStream? _exclusive;

    /// <summary>Holds the server up for as long as the returned lease is not disposed (a test database's lifetime).</summary>
    public static IDisposable Use()
    {
        lock (Gate)
        {
            if (_users++ == 0 && _exclusive is null)
            {
                _shared = OpenBlocking(exclusive: false);
            }
        }

        return new Lease(Release);
    }

    /// <summary>Waits until no other process uses the server, then lets this test stop it until the lease is disposed.</summary>
    public static async Task<IAsyncDisposable> StopTheServerAsync()
    {
        await OneStopAtATime.WaitAsync();
        lock (Gate)
        {
            _shared?.Dispose();
            _shared = null;
        }

        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var exclusive = TryOpen(exclusive: true);
            if (exclusive is not null)
            {
                lock (Gate)
                {
                    _exclusive = exclusive;
                }

                return new AsyncLease(EndStop);
            }

            if (DateTime.UtcNow > deadline)
            {
                OneStopAtATime.Release();
                throw new TimeoutException($"Other test processes kept using PostgreSQL for {Patience} ({LockPath}).");
            }

            await Task.Delay(200);
        }
    }

    private static void Release()
    {
        lock (Gate)
        {
            if (--_users == 0)
            {
                _shared?.Dispose();
                _shared = null;
            }
        }
    }

    private static void EndStop()
    {
        lock (Gate)
        {
            _exclusive?.Dispose();
            _exclusive = null;
            if (_users > 0)
            {
                _shared = OpenBlocking(exclusive: false);
            }
        }

        OneStopAtATime.Release();
    }

    private static FileStream OpenBlocking(bool exclusive)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (TryOpen(exclusive) is { } stream)
            {
                return stream;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"PostgreSQL stayed stopped by another test process for {Patience} ({LockPath}).");
            }

            Thread.Sleep(200);
        }
    }

    private static FileStream? TryOpen(bool exclusive)
    {
        try
        {
            return new FileStream(LockPath, FileMode.OpenOrCreate, exclusive ? FileAccess.ReadWrite : FileAccess.Read, exclusive ? FileShare.None : FileShare.Read);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private sealed class Lease(Action release) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                release();
            }
        }
    }

    private sealed class AsyncLease(Action release) : IAsyncDisposable
    {
        private readonly Lease _lease = new(release);

        public ValueTask DisposeAsync()
        {
            _lease.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
