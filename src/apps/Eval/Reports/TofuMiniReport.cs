using Uld.Contracts;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>
/// bench/results/tofu-mini.md: seed 001's table (rows = methods, columns per forget size: FQ, forget ROUGE-L, MU,
/// retain ROUGE-L), the targets checked (fluency: forget answers' NLL under the retain model ≤ 1.25× the retain model's own), training times from the model manifests, and the α sweep.
/// </summary>
public static class TofuMiniReport
{
    /// <summary>Table rows: label and deployment name in the benchmark's LogitServer.</summary>
    public static readonly (string Label, string Deployment)[] Rows =
    [
        ("Target", "target"), ("Retain", "retain"), ("GA", "ga"), ("GA+GD", "ga+gd"), ("GA+KL", "ga+kl"), ("GA1", "ga1"), ("GA2", "ga2"), ("GA3", "ga3"),
        ("NPO", "npo"), ("NPO+GD", "npo+gd"), ("NPO+KL", "npo+kl"), ("NPO+KL (SOUL)", "soul-npo+kl"), ("TNPO", "tnpo"), ("SimNPO", "simnpo"), ("SimNPO+GD", "simnpo+gd"), ("DPO", "dpo"), ("DPO+GD", "dpo+gd"), ("IDK", "idk+gd"), ("FLAT (KL)", "flat-kl"),
        ("Task vector", "task-vector"), ("INFLUENCE+GD", "influence+gd"), ("RMU", "rmu"), ("Offset-GA+KL", "offset-ga+kl"), ("Offset-DPO+KL", "offset-dpo+kl"), ("Offset-NPO+KL", "offset-npo+kl"),
    ];

    public static string Write(string work, double alphaDefault, string plotPath, string uldRule = "Difference")
    {
        var runs = Directory.Exists(Path.Combine(work, "results"))
            ? Directory.EnumerateFiles(Path.Combine(work, "results"), "forget*.json")
                .Select(EvaluationRun.Load)
                .OrderBy(r => int.TryParse(r.ForgetSet["forget".Length..], out var n) ? n : 0).ToList()
            : [];
        if (runs.Count == 0) throw new UserErrorException($"no evaluation results under {work}/results (run bench/tofu-mini.sh first).");
        var uldName = "uld@" + alphaDefault.ToString(CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.AppendLine("# TOFU-mini: ULD vs gradient-based unlearning");
        md.AppendLine();
        md.AppendLine("Written by `bench/tofu-mini.sh` (models built from `../shared/data/tofu`, served by LogitServer, measured through the API by `uld-eval tofu`).");
        md.AppendLine(CultureInfo.InvariantCulture, $"Split `data/tofu-mini.json` (40 authors); forget sets of 1, 2, 4 authors. Target: 1.77M-parameter Llama trained from scratch. ULD row: decode rule {uldRule}, α = {alphaDefault}, r = 0, one assistant per forget set.");
        md.AppendLine("FQ = KS-test p-value of forget truth ratios vs the retain model; MU = harmonic mean of retain / real-author / world-fact probability, ROUGE-L recall and truth score. Greedy decoding.");
        // Runs may cap the retain, real-author and world-fact sets differently (uld-eval --max-questions): say so per set.
        md.AppendLine("Questions: " + string.Join("; ", runs.Select(r => r.Results.Count == 0 ? r.ForgetSet
            : string.Create(CultureInfo.InvariantCulture, $"{r.ForgetSet} {r.Results[0].Forget.Questions} forget / {r.Results[0].Retain.Questions} retain"))) + ".");
        md.AppendLine();

        var header = new StringBuilder("| method |");
        var rule = new StringBuilder("|---|");
        foreach (var run in runs)
        {
            header.Append(CultureInfo.InvariantCulture, $" {run.ForgetSet} FQ | forget R-L | MU | retain R-L |");
            rule.Append("---|---|---|---|");
        }
        md.AppendLine(header.ToString()).AppendLine(rule.ToString());
        foreach (var (label, deployment) in Rows.Append(("ULD", uldName)))
        {
            var line = new StringBuilder($"| {label} |");
            foreach (var run in runs)
            {
                var r = run.Results.FirstOrDefault(x => x.Deployment == deployment);
                line.Append(r is null ? " not run | | | |"
                    : string.Create(CultureInfo.InvariantCulture, $" {Format.P(r.ForgetQuality)} | {r.Forget.RougeL:F3} | {r.ModelUtility:F3} | {r.Retain.RougeL:F3} |"));
            }
            md.AppendLine(line.ToString());
        }

        md.AppendLine().AppendLine("## Targets").AppendLine();
        foreach (var run in runs)
        {
            var uld = run.Results.FirstOrDefault(x => x.Deployment == uldName);
            var target = run.Results.First(x => x.Deployment == "target");
            if (uld is null) { md.AppendLine(CultureInfo.InvariantCulture, $"- {run.ForgetSet}: no ULD result at α = {alphaDefault}."); continue; }
            var baselines = run.Results.Where(x => Rows.Skip(2).Any(row => row.Deployment == x.Deployment)).ToList();
            var beaten = baselines.Where(b => b.ModelUtility >= uld.ModelUtility && (b.ForgetQuality ?? 0) >= (uld.ForgetQuality ?? 0)).Select(b => b.Deployment).ToList();
            var muRatio = uld.ModelUtility / target.ModelUtility;
            var versus = baselines.Count == 0 ? "no gradient baseline in this run"
                : beaten.Count == 0 ? "ahead of every gradient baseline on FQ at equal or better MU ✓"
                : $"not ahead of {string.Join(", ", beaten)} ✗";
            var fluency = run.FluencyRatio(uld) is { } ratio ? string.Create(CultureInfo.InvariantCulture, $"; fluency {ratio:F2}× retain {Mark(ratio <= 1.25)} (≤ 1.25×)") : "";
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"- {run.ForgetSet}: ULD FQ {Format.P(uld.ForgetQuality)} {Mark((uld.ForgetQuality ?? 0) >= 0.5)} (≥ 0.5); MU {muRatio:F3}× target {Mark(muRatio >= 0.95)} (≥ 0.95×){fluency}; {versus}"));
        }

        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## Greedy forget answers ({uldName} beside the retain model)");
        foreach (var run in runs)
            foreach (var r in run.Results.Where(x => x.Deployment == uldName || x.Deployment == run.RetainDeployment))
            {
                md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"**{run.ForgetSet}, {r.Deployment}**").AppendLine();
                foreach (var e in r.ForgetExamples) md.AppendLine(CultureInfo.InvariantCulture, $"- {e.Question} → {Format.Quote(e.Generated)}");
            }

        md.AppendLine().AppendLine("## Training time (seconds, from each model's manifest)").AppendLine();
        md.AppendLine("| method | " + string.Join(" | ", runs.Select(r => r.ForgetSet)) + " |");
        md.AppendLine("|---|" + string.Concat(runs.Select(_ => "---|")));
        foreach (var (label, dir) in new[] { ("Target", "../target"), ("Retain", "../retain-{f}") }.Concat(Rows.Skip(2).Select(r => (r.Label, r.Deployment))).Append(("ULD", "uld")))
        {
            md.AppendLine($"| {label} | " + string.Join(" | ", runs.Select(run => Seconds(Path.Combine(work, run.ForgetSet, dir.Replace("{f}", run.ForgetSet))))) + " |");
        }

        md.AppendLine().AppendLine("## α sweep (per request, same assistant)").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![forget quality and utility vs α]({Path.GetFileName(plotPath)})");
        md.AppendLine();
        md.AppendLine("| forget set | α | FQ | forget R-L | MU | MU / target | retain R-L | VerbMem | PrivLeak % | fluency NLL |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        var series = new List<(string, IReadOnlyList<DeploymentResult>, DeploymentResult)>();
        foreach (var run in runs)
        {
            var target = run.Results.First(x => x.Deployment == "target");
            var sweep = run.Results.Where(x => x.Model == "uld" && x.Alpha is not null).OrderBy(x => x.Alpha).ToList();
            series.Add((run.ForgetSet, sweep, target));
            foreach (var r in sweep.Prepend(target))
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {run.ForgetSet} | {(r == target ? "0 (target)" : r.Alpha)} | {Format.P(r.ForgetQuality)} | {r.Forget.RougeL:F3} | {r.ModelUtility:F3} | {r.ModelUtility / target.ModelUtility:F3} | {r.Retain.RougeL:F3} | {r.VerbMem:F3} | {Format.PrivLeak(r.PrivLeak)} | {Format.Fluency(r.FluencyNll, run.FluencyRatio(r))} |");
            }
        }
        AlphaPlot.Save(series, plotPath);
        return md.ToString();
    }

    private static string Mark(bool ok) => ok ? "✓" : "✗";

    private static string Seconds(string modelDirectory)
    {
        var manifest = Path.Combine(modelDirectory, "manifest.json");
        // An offset method's output is a pair of directories; its training time is the unlearned model's.
        if (!File.Exists(manifest)) manifest = Path.Combine(modelDirectory, "unlearned", "manifest.json");
        if (!File.Exists(manifest)) return "—";
        var seconds = JsonNode.Parse(File.ReadAllText(manifest))?["metrics"]?["train_seconds"]?.GetValue<double>();
        return seconds is null ? "—" : seconds.Value.ToString("F0", CultureInfo.InvariantCulture);
    }
}
