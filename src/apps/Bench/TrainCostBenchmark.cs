using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench;

/// <summary>
/// <c>uld-bench train</c>: the cost of unlearning — wall time per epoch, trainable parameters and peak memory of ULD vs
/// NPO+GD and GA on the same base and forget set. Each method runs as its own <c>uld-trainer unlearn</c> process (one
/// after the other, same epochs) so that peak memory is that method's alone; the numbers come from the manifests the
/// trainer writes.
/// </summary>
public static class TrainCostBenchmark
{
    private sealed record Row(string Method, long TrainableParameters, int Epochs, int Steps, double Seconds, long PeakRssMib)
    {
        public double SecondsPerEpoch => Seconds / Epochs;
        public double MillisecondsPerStep => 1000 * Seconds / Steps;
    }

    public static int Run(string trainerDll, string baseDir, string data, string forget, int epochs, string[] methods, string resultsDir)
    {
        if (epochs <= 0) throw new UserErrorException("--epochs must be positive.");
        var scratch = Directory.CreateTempSubdirectory("uld-bench-train-");
        var rows = new List<Row>();
        try
        {
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("unlearning", maxValue: methods.Length);
                foreach (var method in methods)
                {
                    task.Description = method;
                    var output = Path.Combine(scratch.FullName, method.Replace('+', '_'));
                    ChildCommand.Run(trainerDll, ["unlearn", "--method", method, "--base", baseDir, "--data", data, "--forget", forget, "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "-o", output]);
                    var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!["metrics"]!;
                    rows.Add(new Row(method, metrics["trainable_parameters"]!.GetValue<long>(), epochs, metrics["steps"]!.GetValue<int>(), metrics["train_seconds"]!.GetValue<double>(),
                        metrics["peak_rss_mib"]!.GetValue<long>()));
                    task.Increment(1);
                }
            });
        }
        finally
        {
            scratch.Delete(recursive: true);
        }

        var reference = rows.FirstOrDefault(r => r.Method == "npo+gd") ?? rows[^1];
        var table = new Table().AddColumns("method", "trainable params", "epochs", "steps", "ms / step", "s / epoch", $"speed-up vs {reference.Method}", "peak RSS MiB");
        var md = new StringBuilder();
        md.AppendLine("# Unlearning cost: ULD vs gradient-based baselines").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`uld-bench train --base {Path.GetFileName(baseDir)} --forget {forget} --epochs {epochs}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores. Each method is one `unlearn` process on the same data, run one after the other. ULD epochs cover D′f and D′r (augmented); the gradient methods' epochs cover the forget set with a retain batch per step.").AppendLine();
        md.AppendLine("| method | trainable params | epochs | steps | ms / step | s / epoch | speed-up vs " + reference.Method + " (per epoch) | peak RSS MiB |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var speedUp = reference.SecondsPerEpoch / r.SecondsPerEpoch;
            table.AddRow(r.Method, r.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture), r.Epochs.ToString(CultureInfo.InvariantCulture),
                r.Steps.ToString(CultureInfo.InvariantCulture), r.MillisecondsPerStep.ToString("F0", CultureInfo.InvariantCulture), r.SecondsPerEpoch.ToString("F1", CultureInfo.InvariantCulture), speedUp.ToString("F2", CultureInfo.InvariantCulture) + "×", r.PeakRssMib.ToString(CultureInfo.InvariantCulture));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Method} | {r.TrainableParameters:N0} | {r.Epochs} | {r.Steps} | {r.MillisecondsPerStep:F0} | {r.SecondsPerEpoch:F1} | {speedUp:F2}× | {r.PeakRssMib} |");
        }
        AnsiConsole.Write(table);
        Directory.CreateDirectory(resultsDir);
        var path = Path.Combine(resultsDir, "train-cost.md");
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
        return 0;
    }
}
