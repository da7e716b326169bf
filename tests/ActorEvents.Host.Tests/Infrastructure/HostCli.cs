using ActorEvents.Host.Cli;
using Spectre.Console;

namespace ActorEvents.Host.Tests.Infrastructure;

/// <summary>Runs the host's command line in-process against a SQLite database and captures what it writes.</summary>
public static class HostCli
{
    /// <summary>Runs <paramref name="args"/> with <c>--provider sqlite</c> and the database's connection string; returns the exit code and the output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string connectionString, params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 240;
        var exitCode = await HostCommandLine.InvokeAsync(
            [.. args, "--provider", "sqlite", $"--ActorEvents:Persistence:ConnectionString={connectionString}"],
            console);
        return (exitCode, writer.ToString());
    }
}
