using System.Diagnostics;
using System.Net.Sockets;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ActorEvents.Tests.Broker;

/// <summary>
/// The RabbitMQ broker the broker tests run against, when <c>ACTOREVENTS_TEST_RABBITMQ</c> holds an AMQP URI (CI always
/// sets it; see .ci/run): unique names, queue inspection, raw publishes, and fault control through <c>rabbitmqctl</c>.
/// Tests on the shared broker use <see cref="UniqueName"/> for their exchanges and queues, so they can run in parallel.
/// The helpers open a short-lived connection per call and, while the broker cannot be reached (a fault test stopped
/// it, also one in another test process), try again for up to <see cref="RetryFor"/> instead of failing at once.
/// </summary>
public static class TestBroker
{
    /// <summary>Environment variable with the AMQP URI, e.g. <c>amqp://guest:guest@127.0.0.1:5672/</c>.</summary>
    public const string RabbitMqVariable = "ACTOREVENTS_TEST_RABBITMQ";

    /// <summary>The Erlang node <c>rabbitmqctl</c> controls (.ci/run starts it under this name).</summary>
    public const string NodeName = "rabbit@localhost";

    /// <summary>How long a helper tries again while the broker cannot be reached, and how long <see cref="StartAppAsync"/> waits for it.</summary>
    public static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RabbitMqCtlTimeout = TimeSpan.FromMinutes(2);
    private static readonly SemaphoreSlim Exclusive = new(1, 1);
    private static int _appStopped;

    /// <summary>The AMQP URI, or null when not configured.</summary>
    public static string? Uri => Environment.GetEnvironmentVariable(RabbitMqVariable) is { Length: > 0 } value ? value : null;

    /// <summary>The AMQP URI; throws when <c>ACTOREVENTS_TEST_RABBITMQ</c> is not set (use <see cref="RabbitMqFactAttribute"/> to skip instead).</summary>
    public static string RequiredUri => Uri ?? throw new InvalidOperationException($"{RabbitMqVariable} is not set.");

    /// <summary>A name no other test uses: <paramref name="prefix"/>, a dash and 12 hex digits of a new GUID.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..12]}";

    /// <summary>A connection factory for <see cref="RequiredUri"/> without automatic recovery (a dropped connection stays closed).</summary>
    public static ConnectionFactory Factory(string clientName = "actorevents-tests") => new()
    {
        Uri = new System.Uri(RequiredUri),
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        ClientProvidedName = $"{clientName} ({Environment.ProcessId})",
    };

    /// <summary>Opens a connection to the broker (no automatic recovery), trying again while it cannot be reached. The caller disposes it.</summary>
    public static Task<IConnection> ConnectAsync(string clientName = "actorevents-tests") => RetryAsync(() => Factory(clientName).CreateConnectionAsync());

    /// <summary>Declares a durable topic exchange (no-op when it exists with the same settings).</summary>
    public static Task DeclareTopicExchangeAsync(string exchange) =>
        WithChannelAsync(channel => channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false));

    /// <summary>Deletes <paramref name="exchange"/> (no-op when it does not exist); tests delete the exchanges they declared.</summary>
    public static Task DeleteExchangeAsync(string exchange) => WithChannelAsync(channel => channel.ExchangeDeleteAsync(exchange, ifUnused: false));

    /// <summary>Declares a durable queue and binds it to <paramref name="exchange"/> with <paramref name="bindingKey"/>.</summary>
    public static Task DeclareQueueAsync(string queue, string exchange, string bindingKey) => WithChannelAsync(async channel =>
    {
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(queue, exchange, bindingKey);
    });

    /// <summary>The number of ready messages in <paramref name="queue"/> (unacknowledged deliveries are not counted); throws when it does not exist.</summary>
    public static async Task<uint> MessageCountAsync(string queue)
    {
        uint count = 0;
        await WithChannelAsync(async channel => count = (await channel.QueueDeclarePassiveAsync(queue)).MessageCount);
        return count;
    }

    /// <summary>Removes the ready messages of <paramref name="queue"/>.</summary>
    public static Task PurgeAsync(string queue) => WithChannelAsync(channel => channel.QueuePurgeAsync(queue));

    /// <summary>Deletes <paramref name="queue"/> with its messages (no-op when it does not exist).</summary>
    public static Task DeleteQueueAsync(string queue) => WithChannelAsync(channel => channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false));

    /// <summary>
    /// Publishes one persistent JSON message and waits for the broker's confirm (throws on a nack). Only opening the
    /// connection is tried again: a publish that fails after it was sent is not repeated (it might then be there twice).
    /// </summary>
    public static async Task PublishRawAsync(string exchange, string routingKey, string messageId, byte[] body, string? type = null)
    {
        await using var connection = await ConnectAsync("actorevents-tests-publisher");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var properties = new BasicProperties
        {
            MessageId = messageId,
            Type = type,
            DeliveryMode = DeliveryModes.Persistent,
            ContentType = "application/json",
        };
        await channel.BasicPublishAsync(exchange, routingKey, mandatory: false, properties, body);
        await channel.CloseAsync();
        await connection.CloseAsync();
    }

    /// <summary>
    /// Holds the broker for one fault test: stopping the app (or closing every connection) affects every test using the
    /// broker, so fault tests take this for as long as the broker is down. Disposing it starts the app again if
    /// <see cref="StopAppAsync"/> left it stopped (also when the test failed), then lets the next fault test in.
    /// The other helpers do not take it: while the broker is down they try again. Not reentrant: take it once per test.
    /// </summary>
    public static async Task<IAsyncDisposable> ExclusiveAsync()
    {
        await Exclusive.WaitAsync();
        try
        {
            // The bench's smoke tests run in another process at the same time: they hold the lock file shared while they
            // use the broker, and this waits for them (and they for this) across processes.
            return new ExclusiveLease(await BrokerLockFile.OpenAsync(exclusive: true));
        }
        catch
        {
            Exclusive.Release();
            throw;
        }
    }

    /// <summary>
    /// <c>rabbitmqctl stop_app</c>: the broker closes every connection and refuses new ones (the Erlang node keeps
    /// running, so <see cref="StartAppAsync"/> can start it again). Only while holding <see cref="ExclusiveAsync"/>.
    /// </summary>
    public static async Task StopAppAsync()
    {
        if (Exclusive.CurrentCount != 0)
        {
            throw new InvalidOperationException($"Hold {nameof(TestBroker)}.{nameof(ExclusiveAsync)}() while the broker is stopped.");
        }

        Volatile.Write(ref _appStopped, 1);
        await RabbitMqCtlAsync("stop_app");
    }

    /// <summary><c>rabbitmqctl start_app</c>, then waits (up to <see cref="RetryFor"/>) until a connection to <see cref="Uri"/> succeeds.</summary>
    public static async Task StartAppAsync()
    {
        await RabbitMqCtlAsync("start_app");
        var connection = await RetryAsync(() => Factory("actorevents-tests-start-app").CreateConnectionAsync());
        await connection.CloseAsync();
        await connection.DisposeAsync();
        Volatile.Write(ref _appStopped, 0);
    }

    /// <summary><c>rabbitmqctl close_all_connections</c>: the broker closes every client connection (320 CONNECTION_FORCED with <paramref name="reason"/>) and keeps accepting new ones.</summary>
    public static Task CloseAllConnectionsAsync(string reason) => RabbitMqCtlAsync("close_all_connections", reason);

    /// <summary>Runs <c>rabbitmqctl -n rabbit@localhost</c> with <paramref name="arguments"/>; returns its output, throws with it on a non-zero exit.</summary>
    public static async Task<string> RabbitMqCtlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(RabbitMqCtl())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-n");
        start.ArgumentList.Add(NodeName);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = $"rabbitmqctl -n {NodeName} {string.Join(' ', arguments)}";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(RabbitMqCtlTimeout))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} did not end within {RabbitMqCtlTimeout.TotalSeconds} s:\n{await stdout}{await stderr}");
            }
        }

        var output = (await stdout) + (await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} exited with {process.ExitCode}:\n{output}");
        }

        return output;
    }

    private static string RabbitMqCtl()
    {
        // Debian installs it in /usr/sbin, which a test runner's PATH may lack.
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Append("/usr/lib/rabbitmq/bin")
            .Select(folder => Path.Combine(folder, "rabbitmqctl"))
            .FirstOrDefault(File.Exists);
        return path ?? "rabbitmqctl";
    }

    private static async Task WithChannelAsync(Func<IChannel, Task> use) => await RetryAsync(async () =>
    {
        await using var connection = await Factory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await use(channel);
        await channel.CloseAsync();
        await connection.CloseAsync();
        return true;
    });

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, trying again for up to <see cref="RetryFor"/> while the broker cannot be reached or drops the connection.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> attempt)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await attempt();
            }
            catch (Exception e) when (IsBrokerDown(e) && deadline.Elapsed < RetryFor)
            {
                await Task.Delay(RetryInterval);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="e"/> says the broker is (for now) unreachable or dropped the connection, rather than that
    /// the operation is wrong: a channel error such as 404 NOT_FOUND or 406 PRECONDITION_FAILED is not tried again.
    /// </summary>
    private static bool IsBrokerDown(Exception e) => e switch
    {
        BrokerUnreachableException or ConnectFailureException or SocketException or IOException or TimeoutException => true,
        // Also AlreadyClosedException (a subclass): the connection, not the operation, is gone.
        OperationInterruptedException { ShutdownReason: { } reason } => reason.Initiator != ShutdownInitiator.Peer || reason.ReplyCode is 320 or 541 or 501,
        _ => e.InnerException is { } inner && IsBrokerDown(inner),
    };

    private sealed class ExclusiveLease(FileStream lockFile) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                if (Volatile.Read(ref _appStopped) != 0)
                {
                    await StartAppAsync();
                }
            }
            finally
            {
                await lockFile.DisposeAsync();
                Exclusive.Release();
            }
        }
    }
}

/// <summary>A fact that runs only when <c>ACTOREVENTS_TEST_RABBITMQ</c> is set (CI sets it), and is reported as skipped otherwise.</summary>
public sealed class RabbitMqFactAttribute : FactAttribute
{
    /// <summary>Skips the test when no broker is configured.</summary>
    public RabbitMqFactAttribute()
    {
        if (TestBroker.Uri is null)
        {
            Skip = $"{TestBroker.RabbitMqVariable} is not set";
        }
    }
}
