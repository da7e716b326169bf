using System.CommandLine;
using System.Data.Common;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Cli.Offline;
using ActorEvents.Cli.Remote;
using ActorEvents.Cli.Verbs;
using Spectre.Console;

namespace ActorEvents.Cli;

/// <summary>
/// The operator verbs, for any application's host: <c>dlq list|inspect|replay|replay-all|skip|purge</c> and
/// <c>subscriptions status|pause|resume|reset|rebuild</c>. With <c>--admin-url</c> they talk to a running node's admin API
/// (<see cref="AdminApi.AdminApiEndpoints"/>); without, they work on the configured database's tables and start no
/// subscription (a replay, skip or purge starts a one-node cluster of its own, with subscriptions off, after checking that no
/// node of the configured cluster answers). Exit codes: <see cref="AdminExitCodes"/>.
/// </summary>
public static class AdminCommands
{
    /// <summary>The <c>dlq</c> and <c>subscriptions</c> commands, to add to the application's root command.</summary>
    /// <param name="settings">How to reach the application.</param>
    public static IReadOnlyList<Command> Create(AdminCliSettings settings)
    {
        var target = new AdminTargetOptions();
        var runner = new VerbRunner(settings, target);
        var dlq = DeadLetterVerbs.Create(runner);
        var subscriptions = SubscriptionVerbs.Create(runner);
        foreach (var option in target.All)
        {
            dlq.Options.Add(option);
            subscriptions.Options.Add(option);
        }

        return [dlq, subscriptions];
    }
}

/// <summary>Opens a session for a verb, runs it and turns every refusal into its message and exit code.</summary>
internal sealed class VerbRunner(AdminCliSettings settings, AdminTargetOptions target)
{
    public IAnsiConsole Console => settings.Console;

    public void Bind(Command command, Func<ParseResult, AdminSession, Task<int>> verb)
    {
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parse, _) => settings.Guard(parse, () => RunAsync(parse, verb)));
    }

    private async Task<int> RunAsync(ParseResult parse, Func<ParseResult, AdminSession, Task<int>> verb)
    {
        try
        {
            await using var session = AdminSession.Open(settings, parse, target);
            return await verb(parse, session).ConfigureAwait(false);
        }
        catch (AdminUsageException e)
        {
            return Fail(e.Message, AdminExitCodes.UsageError);
        }
        catch (DeadLetterOperationException e)
        {
            return Fail(e.Failure.Reason, AdminExitCodes.Refused);
        }
        catch (SubscriptionOperationException e)
        {
            settings.Console.MarkupLine($"[red]{Markup.Escape(e.Failure.Code.ToString())}:[/] {Markup.Escape(e.Failure.Reason)}");
            return AdminExitCodes.Refused;
        }
        catch (ClusterRunningException e)
        {
            return Fail(e.Message, AdminExitCodes.ClusterRunning);
        }
        catch (AdminApiException e)
        {
            return Fail(e.Message, AdminExitCodes.Failed);
        }
        catch (HttpRequestException e)
        {
            return Fail($"The node's admin API at {target.Url(parse)} could not be reached: {e.Message}", AdminExitCodes.Failed);
        }
        catch (TaskCanceledException) when (target.Url(parse) is { } url)
        {
            return Fail($"The node's admin API at {url} did not answer in time.", AdminExitCodes.Failed);
        }
        catch (NodeDidNotStartException e)
        {
            return Fail(e.Message, AdminExitCodes.Failed);
        }
        catch (DbException e)
        {
            // Provider messages name the server, never the password.
            return Fail($"The database could not be used: {e.Message}", AdminExitCodes.Failed);
        }
    }

    private int Fail(string message, int exitCode)
    {
        settings.Console.MarkupLine($"[red]{Markup.Escape(message)}[/]");
        return exitCode;
    }
}
