using Spectre.Console;

namespace Uld.Cli;

/// <summary>One progress bar (description, bar, percentage, time left) around a long-running step.</summary>
public static class CliProgress
{
    public static T Run<T>(string description, Func<ProgressTask, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => result = work(ctx.AddTask(description)));
        return result;
    }

    public static void Report(this ProgressTask task, int step, int total, string description)
    {
        (task.MaxValue, task.Value) = (total, step);
        task.Description = description;
    }
}
