using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorEvents.Messages;

namespace ActorEvents.Host.Tests.Infrastructure;

/// <summary>
/// A child process running <c>dotnet ActorEvents.Host.dll …</c> (the real host, as an operator starts it) on a test
/// database, its output kept for failure messages. Crash and fault tests kill it, stop its database under it, or hold
/// locks against it, and then check what it acknowledged against the journal.
/// </summary>
public sealed class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();

    private HostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            Append(e.Data);
            if (e.Data is not null)
            {
                lock (_standardOutput)
                {
                    _standardOutput.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the process wrote to stdout alone so far (its logs go to stderr).</summary>
    public string StandardOutput
    {
        get
        {
            lock (_standardOutput)
            {
                return _standardOutput.ToString();
            }
        }
    }

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the host with <paramref name="args"/> on <paramref name="database"/> (<c>--provider</c>, a free port, the
    /// connection string as a configuration argument), logging warnings and above.
    /// </summary>
    public static HostProcess Start(ProcessDatabase database, params string[] args) => Start(database, 0, args);

    /// <summary>
    /// Starts the host as a cluster node on remoting port <paramref name="port"/> (0: any free port), so that other
    /// processes can join it with <c>--seed</c> <see cref="SeedOf"/>(port); otherwise as <see cref="Start(ProcessDatabase, string[])"/>.
    /// </summary>
    public static HostProcess Start(ProcessDatabase database, int port, params string[] args) =>
        StartOn(database.Provider, database.ConnectionString, port, args);

    /// <summary>Starts the host with <paramref name="args"/> on a provider and connection string that need not be a database (e.g. one nothing answers on).</summary>
    public static HostProcess StartOn(string provider, string connectionString, int port, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ActorEvents.Host.dll"));
        foreach (var arg in args.Concat(["--provider", provider, "--port", port.ToString(CultureInfo.InvariantCulture), $"--ActorEvents:Persistence:ConnectionString={connectionString}"]))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return new HostProcess(Process.Start(start) ?? throw new InvalidOperationException("The host process did not start."));
    }

    /// <summary>Runs the host to its end; returns the exit code and its output (fails after <paramref name="timeout"/>).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessDatabase database, TimeSpan timeout, params string[] args)
    {
        using var process = Start(database, args);
        var exitCode = await process.WaitForExitAsync(timeout);
        return (exitCode, process.Output);
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (for a node that others join).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The seed address of a host started on <paramref name="port"/> of 127.0.0.1 (the default actor system name).</summary>
    public static string SeedOf(int port) => string.Create(CultureInfo.InvariantCulture, $"akka.tcp://actor-events@127.0.0.1:{port}");

    /// <summary>Waits until the node started on <paramref name="port"/> accepts connections (its remoting is up).</summary>
    public async Task WaitUntilListeningAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (!_process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                throw new TimeoutException($"The host process {(_process.HasExited ? $"exited ({_process.ExitCode})" : "timed out")} before it listened on port {port}:\n{Output}");
            }
        }
    }

    /// <summary>
    /// <c>subscriptions status --json --admin-url</c> against the operations endpoint of a <c>serve</c> node on
    /// <paramref name="adminPort"/>: the live figures of the subscriptions where they run (e.g.
    /// <see cref="SubscriptionStatus.SkippedGaps"/>, which only the node running a subscription knows). The command starts no node.
    /// </summary>
    public static async Task<IReadOnlyList<SubscriptionStatus>> SubscriptionStatusAsync(ProcessDatabase database, int adminPort, TimeSpan timeout)
    {
        var (exitCode, output) = await RunAsync(database, timeout, "subscriptions", "status", "--json", "--admin-url", AdminUrlOf(adminPort));
        Assert.True(exitCode == 0, $"subscriptions status exited with {exitCode}:\n{output}");
        // The JSON array is written indented on its own lines; log lines (stderr) may surround it in the merged output.
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var start = Array.IndexOf(lines, "[");
        var end = start < 0 ? -1 : Array.IndexOf(lines, "]", start);
        Assert.True(end > start, $"subscriptions status printed no JSON array:\n{output}");
        return JsonSerializer.Deserialize<SubscriptionStatus[]>(string.Join('\n', lines[start..(end + 1)]), StatusJson)!;
    }

    /// <summary>The admin API of a <c>serve</c> node whose operations endpoint is on <paramref name="port"/> of 127.0.0.1.</summary>
    public static string AdminUrlOf(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/");

    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Polls <paramref name="condition"/> every 20 ms; throws when the process exits first or the time is up.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The host process {(_process.HasExited ? $"exited ({_process.ExitCode})" : "timed out")} before {what}:\n{Output}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL: no shutdown hook, no flush, nothing.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Waits for the process to end; throws (with its output) when it has not ended within <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The host process did not end within {timeout.TotalSeconds:0} s:\n{Output}");
        }

        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
