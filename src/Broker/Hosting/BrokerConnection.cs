using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace ActorEvents.Broker.Hosting;

/// <summary>
/// The node's one AMQP connection (a singleton), opened on first use and kept: while the broker cannot be reached the
/// first open is tried again every <see cref="BrokerOptions.ReconnectInterval"/>; once open, the client recovers the
/// connection, its channels and consumers by itself after a drop.
/// </summary>
internal sealed class BrokerConnection(IOptions<BrokerOptions> options, ILogger<BrokerConnection> log) : IAsyncDisposable
{
    private readonly SemaphoreSlim _opening = new(1, 1);
    private IConnection? _connection;

    /// <summary>The connection, opening it first if needed (waits while the broker is unreachable, until cancelled).</summary>
    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } open)
        {
            return open;
        }

        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (_connection is null)
            {
                try
                {
                    var factory = new ConnectionFactory
                    {
                        Uri = new Uri(options.Value.Uri ?? throw new InvalidOperationException("ActorEvents:Broker:Uri is not set.")),
                        AutomaticRecoveryEnabled = true,
                        TopologyRecoveryEnabled = true,
                        NetworkRecoveryInterval = options.Value.ReconnectInterval,
                        ClientProvidedName = $"{options.Value.Source} ({Environment.MachineName}:{Environment.ProcessId})",
                    };
                    _connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                    BrokerLog.Connected(log, factory.HostName, factory.Port);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    BrokerLog.Unreachable(log, e.GetBaseException().Message, options.Value.ReconnectInterval.TotalSeconds);
                    await Task.Delay(options.Value.ReconnectInterval, cancellationToken).ConfigureAwait(false);
                }
            }

            return _connection;
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.CloseAsync().ConfigureAwait(false);
            connection.Dispose();
        }

        _opening.Dispose();
    }
}
