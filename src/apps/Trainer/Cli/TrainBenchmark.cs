using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;

namespace Uld.Trainer.Cli;

/// <summary>
/// <c>bench train</c>: the cost of unlearning — wall time per epoch, trainable parameters and peak memory of ULD vs
/// NPO+GD and GA on the same base and forget set. Each method runs as its own <c>unlearn</c> process (one after the
/// other, same epochs) so that peak memory is that method's alone.
/// </summary>
public static class TrainBenchmark
{
    public static Command Create()
    {
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "target model directory", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "TOFU directory", DefaultValueFactory = _ => new DirectoryInfo("../shared/data/tofu") };
        var forget = new Option<string>("--forget") { DefaultValueFactory = _ => "forget4" };
        var epochs = new Option<int>("--epochs") { Description = "epochs per method (the same for all)", DefaultValueFactory = _ => 3 };
        var methods = new Option<string[]>("--method") { Description = "methods to compare (repeat)", DefaultValueFactory = _ => ["uld", "npo+gd", "ga"] };
        var results = new Option<DirectoryInfo>("--results") { DefaultValueFactory = _ => new DirectoryInfo("bench/results") };
        var command = new Command("train", "Unlearning cost: time per epoch, trainable parameters, peak memory (ULD vs NPO+GD vs GA).")
        {
            baseDir, data, forget, epochs, methods, results,
        };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(baseDir)!.FullName, parse.GetValue(data)!.FullName, parse.GetValue(forget)!,
            parse.GetValue(epochs), parse.GetValue(methods)!, parse.GetValue(results)!.FullName)));
        return command;
    }

    private sealed record Row(string Method, long TrainableParameters, int Epochs, int Steps, double Seconds, long PeakRssMib)
    {
        public double SecondsPerEpoch => Seconds / Epochs;
        public double MillisecondsPerStep => 1000 * Seconds / Steps;
    }

    private static int Run(string baseDir, string data, string forget, int epochs, string[] methods, string resultsDir)
    {
        if (epochs <= 0) throw new ArgumentException("--epochs must be positive.");
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
                    RunUnlearn(["unlearn", "--method", method, "--base", baseDir, "--data", data, "--forget", forget, "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "-o", output]);
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
        md.AppendLine(CultureInfo.InvariantCulture, $"`uld-trainer bench train --base {Path.GetFileName(baseDir)} --forget {forget} --epochs {epochs}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores. Each method is one `unlearn` process on the same data, run one after the other. ULD epochs cover D′f and D′r (augmented); the gradient methods' epochs cover the forget set with a retain batch per step.").AppendLine();
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

    /// <summary>Runs this CLI again as a child process (its own peak memory), failing with the child's last output line.</summary>
    private static void RunUnlearn(IReadOnlyList<string> args)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Under `dotnet uld-trainer.dll` the host is dotnet and the assembly is the first argument.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(TrainBenchmark).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new IOException($"{string.Join(' ', args.Take(3))} failed (exit {process.ExitCode}): {(stderr.Result + stdout.Result).Trim().Split('\n').LastOrDefault()}");
    }
}
