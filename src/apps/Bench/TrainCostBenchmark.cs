using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench;

/// <summary>What <c>uld-bench train</c> measures: one base, one data set, the methods and the ULD assistant depths.</summary>
public sealed record TrainCostOptions
{
    public required string TrainerDll { get; init; }
    public required string BaseDir { get; init; }
    /// <summary>The data arguments passed to every <c>unlearn</c> (the TOFU preset or --forget-file/--retain-file).</summary>
    public required IReadOnlyList<string> DataArguments { get; init; }
    public int Epochs { get; init; } = 3;
    public IReadOnlyList<string> Methods { get; init; } = ["uld", "npo+gd", "ga"];
    /// <summary>ULD: one run per assistant depth K (empty: the trainer's default depth).</summary>
    public IReadOnlyList<int> Layers { get; init; } = [];
    public int Rank { get; init; } = 16;
    /// <summary>Optimizer steps of each method's chosen configuration (from the manifest of a model it trained), by method.</summary>
    public IReadOnlyDictionary<string, ChosenRecipe> RecipeSteps { get; init; } = new Dictionary<string, ChosenRecipe>();
    public required string ResultsDir { get; init; }
    public string ReportFile { get; init; } = "train-cost.md";
}

/// <summary>A method's chosen configuration: the model directory it produced and the optimizer steps its manifest records.</summary>
public sealed record ChosenRecipe(string ModelDir, int Steps);

/// <summary>
/// <c>uld-bench train</c>: the cost of unlearning — seconds per step and per epoch, trainable parameters and peak memory
/// of ULD (per assistant depth K) vs NPO+GD and GA on the same base and data. Each run is its own
/// <c>uld-trainer unlearn</c> process (one after the other, same epochs, ULD without its minimum step count) so that
/// peak memory is that run's alone. Two peaks are reported: the trainer's own right after training (loading and
/// training: what the method costs), when its manifest has it, and the whole process's (with merging and writing).
/// </summary>
public static class TrainCostBenchmark
{
    private sealed record Row(string Method, int? Layers, long TrainableParameters, int Epochs, int Steps, double Seconds, long? TrainPeakMib, long ProcessPeakBytes)
    {
        public string Label => Layers is { } k ? $"{Method} K={k}" : Method;
        public double SecondsPerEpoch => Seconds / Epochs;
        public double SecondsPerStep => Seconds / Steps;
    }

    private const double Gib = 1L << 30;

    public static int Run(TrainCostOptions o)
    {
        if (o.Epochs <= 0) throw new UserErrorException("--epochs must be positive.");
        var runs = o.Methods.SelectMany(m => m == "uld" && o.Layers.Count > 0 ? o.Layers.Select(k => (Method: m, Layers: (int?)k)) : [(m, null)]).ToList();
        var scratch = Directory.CreateTempSubdirectory("uld-bench-train-");
        var rows = new List<Row>();
        try
        {
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("unlearning", maxValue: runs.Count);
                foreach (var (method, layers) in runs)
                {
                    var row = new Row(method, layers, 0, o.Epochs, 0, 0, null, 0);
                    task.Description = row.Label;
                    var output = Path.Combine(scratch.FullName, row.Label.Replace('+', '_').Replace(' ', '_').Replace('=', '_'));
                    var run = ChildCommand.Run(o.TrainerDll, Arguments(o, method, layers, output));
                    var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!["metrics"]!;
                    rows.Add(row with
                    {
                        // What the run did, as its manifest records it (the trainer may run more epochs than asked).
                        TrainableParameters = metrics["trainable_parameters"]!.GetValue<long>(), Steps = metrics["steps"]!.GetValue<int>(), Epochs = metrics["epochs"]!.GetValue<int>(),
                        Seconds = metrics["train_seconds"]!.GetValue<double>(), TrainPeakMib = metrics["train_peak_rss_mib"]?.GetValue<long>(), ProcessPeakBytes = run.PeakBytes,
                    });
                    Directory.Delete(output, recursive: true); // a 1B run writes GBs; only its manifest was needed
                    task.Increment(1);
                }
            });
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        Report(o, rows);
        return 0;
    }

    /// <summary>Parses <c>METHOD=MODEL_DIR</c> pairs; the steps are what the model's manifest says its training ran.</summary>
    public static IReadOnlyDictionary<string, ChosenRecipe> RecipeSteps(IEnumerable<string> pairs)
    {
        var recipes = new Dictionary<string, ChosenRecipe>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || at == pair.Length - 1) throw new UserErrorException($"--recipe takes METHOD=MODEL_DIR; got '{pair}'.");
            var (method, dir) = (pair[..at], pair[(at + 1)..]);
            var manifest = Path.Combine(dir, Uld.Contracts.Models.ModelManifest.FileName);
            if (!File.Exists(manifest)) throw new UserErrorException($"--recipe {method}: {manifest} does not exist.");
            var steps = JsonNode.Parse(File.ReadAllText(manifest))?["metrics"]?["steps"]?.GetValue<int>()
                ?? throw new UserErrorException($"--recipe {method}: {manifest} records no training steps (metrics.steps).");
            recipes[method] = new ChosenRecipe(dir, steps);
        }
        return recipes;
    }

    private static List<string> Arguments(TrainCostOptions o, string method, int? layers, string output)
    {
        var args = new List<string> { "unlearn", "--method", method, "--base", o.BaseDir, "--epochs", Invariant(o.Epochs), "-o", output };
        args.AddRange(o.DataArguments);
        if (method != "uld") return args;
        // Exactly --epochs: ULD's minimum step count would make its runs longer than the others', not costlier per step.
        args.AddRange(["--min-steps", "0", "--rank", Invariant(o.Rank)]);
        if (layers is { } k) args.AddRange(["--layers", Invariant(k)]);
        return args;
    }

    private static void Report(TrainCostOptions o, List<Row> rows)
    {
        var reference = rows.FirstOrDefault(r => r.Method == "npo+gd") ?? rows[^1];
        var headers = new[] { "method", "trainable params", "epochs", "steps", "s / step", "s / epoch", $"speed-up vs {reference.Label} (per epoch)",
            "chosen recipe steps", "s to chosen recipe", $"vs {reference.Label} (chosen recipes)", "train peak RSS GiB", "process peak RSS GiB" };
        double? RecipeSeconds(Row r) => o.RecipeSteps.TryGetValue(r.Method, out var recipe) ? recipe.Steps * r.SecondsPerStep : null;
        var referenceRecipe = RecipeSeconds(reference);
        var table = new Table().AddColumns(headers);
        var md = new StringBuilder();
        md.AppendLine("# Unlearning cost: ULD vs gradient-based baselines").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`uld-bench train --base {Path.GetFileName(o.BaseDir.TrimEnd('/'))} {string.Join(' ', o.DataArguments.Select(a => Path.IsPathRooted(a) ? Path.GetRelativePath(Environment.CurrentDirectory, a) : a))} --epochs {o.Epochs}{(o.Layers.Count > 0 ? " --layers " + string.Join(' ', o.Layers) : "")} --rank {o.Rank}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores. Each run is one `unlearn` process on the same data, run one after the other; ULD runs exactly --epochs (no minimum step count) with LoRA rank {o.Rank}. Train peak: the trainer's VmHWM right after training (loading + training); process peak: the whole process's, with merging and writing (1 GiB = 2^30 bytes). A chosen recipe is priced as its step count (what the named model's training ran: {string.Join(", ", o.RecipeSteps.Select(kv => $"{kv.Key} `{kv.Value.ModelDir}` {kv.Value.Steps} steps"))}) × the s / step measured here; above 1× the method reaches its chosen configuration faster than the reference.").AppendLine();
        md.AppendLine("| " + string.Join(" | ", headers) + " |");
        md.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", headers.Length)));
        foreach (var r in rows)
        {
            string[] cells =
            [
                r.Label, r.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture), Invariant(r.Epochs), Invariant(r.Steps),
                r.SecondsPerStep.ToString("F2", CultureInfo.InvariantCulture), r.SecondsPerEpoch.ToString("F1", CultureInfo.InvariantCulture),
                (reference.SecondsPerEpoch / r.SecondsPerEpoch).ToString("F2", CultureInfo.InvariantCulture) + "×",
                o.RecipeSteps.TryGetValue(r.Method, out var recipe) ? Invariant(recipe.Steps) : "—",
                RecipeSeconds(r) is { } s ? s.ToString("F0", CultureInfo.InvariantCulture) : "—",
                RecipeSeconds(r) is { } own && referenceRecipe is { } theirs ? (theirs / own).ToString("F2", CultureInfo.InvariantCulture) + "×" : "—",
                r.TrainPeakMib is { } mib ? (mib * (1 << 20) / Gib).ToString("F2", CultureInfo.InvariantCulture) : "—",
                (r.ProcessPeakBytes / Gib).ToString("F2", CultureInfo.InvariantCulture),
            ];
            table.AddRow(cells.Select(Markup.Escape).ToArray());
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        AnsiConsole.Write(table);
        Directory.CreateDirectory(o.ResultsDir);
        var path = Path.Combine(o.ResultsDir, o.ReportFile);
        AtomicFile.WriteAllText(path, md.ToString());
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
