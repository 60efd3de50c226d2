using Spectre.Console;
using Uld.Eval.Client;

namespace Uld.Eval.Cli;

/// <summary>Deployments evaluated one after another, each with its own progress bar.</summary>
public static class DeploymentProgress
{
    /// <param name="evaluate">one deployment's evaluation, reporting (done, total)</param>
    public static async Task<List<T>> RunAsync<T>(IReadOnlyList<DeploymentRef> deployments, Func<DeploymentRef, Action<int, int>, Task<T>> evaluate)
    {
        var results = new List<T>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = deployments.Select(d => ctx.AddTask(Markup.Escape(d.ToString()), autoStart: false)).ToList();
                foreach (var (d, task) in deployments.Zip(tasks))
                {
                    task.StartTask();
                    results.Add(await evaluate(d, (done, total) => (task.MaxValue, task.Value) = (total, done)));
                    task.StopTask();
                }
            });
        return results;
    }
}
