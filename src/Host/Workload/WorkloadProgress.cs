using System.Diagnostics;
using Spectre.Console;

namespace ActorEvents.Host.Workload;

/// <summary>
/// Shows a running workload: a live progress bar on a terminal, or one plain line per second when the output
/// is redirected (a file, a pipe, CI), so it never depends on cursor control.
/// </summary>
public static class WorkloadProgress
{
    /// <summary>Follows <paramref name="run"/> until it completes and returns its summary.</summary>
    /// <param name="console">Where to draw.</param>
    /// <param name="statistics">The live tallies of the workload.</param>
    /// <param name="plannedCommands">Commands the plan expects to send.</param>
    /// <param name="run">The running workload.</param>
    public static async Task<WorkloadSummary> FollowAsync(IAnsiConsole console, WorkloadStatistics statistics, int plannedCommands, Task<WorkloadSummary> run)
    {
        if (console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi)
        {
            await console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Describe(statistics), maxValue: plannedCommands);
                    while (!run.IsCompleted)
                    {
                        Update(task, statistics);
                        await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(100))).ConfigureAwait(false);
                    }

                    Update(task, statistics);
                    task.Value = task.MaxValue;
                    task.StopTask();
                }).ConfigureAwait(false);
            return await run.ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            var completed = statistics.Completed;
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            console.WriteLine(
                $"  {completed,6:N0}/{plannedCommands:N0} commands  {statistics.Accepted:N0} accepted  {statistics.Rejected:N0} rejected  " +
                $"{(seconds > 0 ? completed / seconds : 0):N0} commands/s");
        }

        return await run.ConfigureAwait(false);
    }

    private static void Update(ProgressTask task, WorkloadStatistics statistics)
    {
        var completed = statistics.Completed;
        task.MaxValue = Math.Max(task.MaxValue, completed);
        task.Value = completed;
        task.Description = Describe(statistics);
    }

    private static string Describe(WorkloadStatistics statistics) =>
        $"[bold]{statistics.Completed:N0}[/] commands  [green]{statistics.Accepted:N0} accepted[/]  [yellow]{statistics.Rejected:N0} rejected[/]" +
        (statistics.Surprises > 0 ? $"  [red]{statistics.Surprises:N0} unexpected[/]" : string.Empty);
}
