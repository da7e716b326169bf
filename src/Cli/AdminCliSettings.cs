using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace ActorEvents.Cli;

/// <summary>How <see cref="AdminCommands"/> reaches the application: its host builder, its console, its own options and error handling.</summary>
public sealed class AdminCliSettings
{
    /// <summary>
    /// The application's host builder (the one its nodes run, with <c>AddActorEvents</c> and its domain) for a parsed
    /// command line and configuration overrides that win over every other source. The verbs build it without starting it
    /// for table mode, start it as a one-node cluster of its own for a replay on a database no cluster runs on, and only
    /// read its registered types with <c>--admin-url</c>.
    /// </summary>
    public required Func<ParseResult, IReadOnlyDictionary<string, string?>, HostApplicationBuilder> CreateHostBuilder { get; init; }

    /// <summary>Where the verbs write (tables, messages; <c>--json</c> goes raw to its output).</summary>
    public IAnsiConsole Console { get; init; } = AnsiConsole.Console;

    /// <summary>Configuration overrides from the application's own options (e.g. <c>--provider</c>); none by default.</summary>
    public Func<ParseResult, IReadOnlyDictionary<string, string?>> Overrides { get; init; } = _ => new Dictionary<string, string?>();

    /// <summary>Runs a verb (e.g. turning the application's configuration errors into messages and exit codes); runs it as is by default.</summary>
    public Func<ParseResult, Func<Task<int>>, Task<int>> Guard { get; init; } = (_, run) => run();
}
