using System.Diagnostics;
using System.Text;

namespace ActorEvents.Tests.Infrastructure;

/// <summary>
/// A child process running <c>dotnet ActorEvents.Host.dll …</c> (the real host, as an operator starts it) on a test
/// database, its output kept for failure messages. Crash and fault tests kill it, stop its database under it, or hold
/// locks against it, and then check what it acknowledged against the journal.
/// </summary>
public sealed class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
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

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the host with <paramref name="args"/> on <paramref name="database"/> (<c>--provider</c>, a free port, the
    /// connection string as a configuration argument), logging warnings and above.
    /// </summary>
    public static HostProcess Start(ProcessDatabase database, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ActorEvents.Host.dll"));
        foreach (var arg in args.Concat(["--provider", database.Provider, "--port", "0", $"--ActorEvents:Persistence:ConnectionString={database.ConnectionString}"]))
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
