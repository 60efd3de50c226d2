using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>
/// bench/results/tofu-mini.md under the held-out protocol (docs/METHODS.md, *Protocol*): per pair of forget sets, the
/// test table (each method at the configuration chosen on validation, mean ± sd over seeds), the comparisons it
/// supports — a win only where the means differ by more than both spreads —, the calibrated α against fixed α, and the
/// validation table the choices were made on. Every sentence about results is computed here from those tables.
/// </summary>
public static class TofuMiniReport
{
    /// <summary>One method's seeds on a test set.</summary>
    public sealed record MethodRow(string Method, string Config, Spread ForgetQuality, Spread Utility, Spread ForgetRouge, Spread RetainRouge,
        Spread VerbMem, Spread PrivLeak, Spread? Alpha, Spread TrainSeconds);

    /// <param name="plotPath">where the α plot of the test sets' fixed-α sweeps is drawn (none without a sweep)</param>
    public static string Write(string work, IReadOnlyList<(string Validation, string Test)> pairs, string plotPath)
    {
        var series = new List<(string, IReadOnlyList<DeploymentResult>, DeploymentResult)>();
        var md = new StringBuilder();
        md.AppendLine("# TOFU-mini: ULD vs gradient-based unlearning, held-out protocol");
        md.AppendLine();
        md.AppendLine("Written by `bench/tofu-mini.sh` and `uld-eval report` (models built from `../shared/data/tofu`, served by LogitServer, measured through the API).");
        md.AppendLine("Protocol ([docs/METHODS.md](../../docs/METHODS.md#protocol)): every method is tuned over the same grid size on a *validation* forget set " +
                      "(authors 186–189); one rule picks its configuration there — the highest forget quality among configurations with model utility " +
                      $"≥ {ConfigurationSelection.UtilityFloor}× the target's, else the highest utility —; only that configuration runs on the *test* forget set " +
                      "(authors 196–199), once per seed, and only test numbers are reported as results. ULD's α is not tuned: each assistant is served " +
                      "at the α its calibration chose (no retain model involved). Target and retain models are single-seed.");
        md.AppendLine("FQ = KS-test p-value of forget truth ratios vs the retain model (TOFU); MU = harmonic mean of retain / real-author / world-fact " +
                      "probability, ROUGE-L recall and truth score (TOFU); PrivLeak = (AUC − AUC_retain) / AUC_retain × 100 (MUSE). Greedy decoding.");
        foreach (var (validation, test) in pairs)
        {
            var testRuns = Runs(work, test);
            var valRuns = Runs(work, validation);
            if (testRuns.Count == 0 && valRuns.Count == 0) { md.AppendLine().AppendLine($"## {test}: not run"); continue; }
            var selected = Selected(work, validation);
            TestSection(md, work, test, validation, testRuns, selected, series, Path.GetFileName(plotPath));
            ValidationSection(md, validation, valRuns, selected);
        }
        if (series.Count > 0) AlphaPlot.Save(series, plotPath);
        return md.ToString();
    }

    /// <summary>
    /// The README's results block: per test set, each method's FQ and MU (mean ± sd) and the report's sentences — the
    /// only place the README's comparisons come from (<c>uld-eval report --readme</c> rewrites it between its markers).
    /// </summary>
    public static string Headline(string work, IReadOnlyList<(string Validation, string Test)> pairs)
    {
        var md = new StringBuilder();
        foreach (var (validation, test) in pairs)
        {
            var all = Runs(work, test).SelectMany(r => r.Results).ToList();
            var target = all.FirstOrDefault(r => r.Deployment == "target");
            if (target is null) { md.AppendLine(CultureInfo.InvariantCulture, $"- {test}: not run yet ({validation} → {test} is part of `bench/tofu-mini.sh --pairs`)."); continue; }
            var rows = Rows(work, test, all, target, Selected(work, validation));
            md.AppendLine(CultureInfo.InvariantCulture, $"**{test}** (configurations chosen on {validation}; mean ± sd over {Seeds(rows.Select(r => r.ForgetQuality.N).DefaultIfEmpty(0).Max())}):").AppendLine();
            md.AppendLine("| method | FQ | MU × target |").AppendLine("|---|---|---|");
            foreach (var row in rows)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {Label(row.Method)} | {row.ForgetQuality.Show(x => Format.P(x))} | {row.Utility.Show(F3)} |");
            md.AppendLine();
            foreach (var line in Claims(rows)) md.AppendLine("- " + line);
            md.AppendLine();
        }
        return md.ToString().TrimEnd() + "\n";
    }

    /// <summary>Replaces what lies between <paramref name="begin"/> and <paramref name="end"/> in <paramref name="text"/>.</summary>
    public static string ReplaceBlock(string text, string block, string begin = "<!-- tofu-mini results: begin -->", string end = "<!-- tofu-mini results: end -->")
    {
        var (from, to) = (text.IndexOf(begin, StringComparison.Ordinal), text.IndexOf(end, StringComparison.Ordinal));
        if (from < 0 || to < from) throw new UserErrorException($"no '{begin}' … '{end}' block to replace.");
        return text[..(from + begin.Length)] + "\n" + block + text[to..];
    }

    private static void TestSection(StringBuilder md, string work, string test, string validation, IReadOnlyList<EvaluationRun> runs,
        IReadOnlyDictionary<string, string> selected, List<(string, IReadOnlyList<DeploymentResult>, DeploymentResult)> series, string plotFile)
    {
        md.AppendLine().AppendLine($"## Test: {test} (configurations chosen on {validation})").AppendLine();
        var all = runs.SelectMany(r => r.Results).ToList();
        var target = all.FirstOrDefault(r => r.Deployment == "target");
        var retain = all.FirstOrDefault(r => r.Deployment == "retain");
        if (target is null) { md.AppendLine("No target result: the test evaluation did not run."); return; }
        md.AppendLine(CultureInfo.InvariantCulture, $"Questions: {target.Forget.Questions} forget / {target.Retain.Questions} retain. Target MU {target.ModelUtility:F3}.").AppendLine();
        md.AppendLine("| method | configuration | seeds | FQ | MU × target | forget ROUGE-L | retain ROUGE-L | VerbMem | PrivLeak | α | train s |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (label, r) in new[] { ("Target", target), ("Retain", retain) })
            if (r is not null)
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {label} | — | 1 | {Format.P(r.ForgetQuality)} | {r.ModelUtility / target.ModelUtility:F3} | {r.Forget.RougeL:F3} | {r.Retain.RougeL:F3} | {r.VerbMem:F3} | {Format.PrivLeak(r.PrivLeak)} | — | — |");
        var rows = Rows(work, test, all, target, selected);
        foreach (var row in rows)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {Label(row.Method)} | {row.Config} | {row.ForgetQuality.N} | {row.ForgetQuality.Show(x => Format.P(x))} | {row.Utility.Show(F3)} | {row.ForgetRouge.Show(F3)} | {row.RetainRouge.Show(F3)} | {row.VerbMem.Show(F3)} | {row.PrivLeak.Show(x => Format.PrivLeak(x), x => x.ToString("F1", CultureInfo.InvariantCulture))} | {row.Alpha?.Show(F3) ?? "—"} | {row.TrainSeconds.Show(x => x.ToString("F0", CultureInfo.InvariantCulture))} |");

        md.AppendLine().AppendLine("What the table shows (a difference counts only where the means differ by more than both standard deviations):").AppendLine();
        foreach (var line in Claims(rows)) md.AppendLine("- " + line);
        AlphaSection(md, work, test, all, target, series, plotFile);
    }

    /// <summary>The sentences the report (and the README, which quotes them) may say about a test table.</summary>
    public static IEnumerable<string> Claims(IReadOnlyList<MethodRow> rows)
    {
        var uld = rows.FirstOrDefault(r => r.Method == "uld");
        if (uld is null) { yield return "no ULD row."; yield break; }
        var seeds = rows.Min(r => r.ForgetQuality.N);
        if (seeds < 2)
            yield return $"only {seeds} seed per method: every comparison below is between single runs, with no spread measured — not yet a result.";
        yield return string.Create(CultureInfo.InvariantCulture,
            $"ULD: FQ {uld.ForgetQuality.Show(x => Format.P(x))} at MU {uld.Utility.Show(F3)}× target — {(uld.ForgetQuality.Mean >= 0.5 ? "meets" : "misses")} FQ ≥ 0.5, {(uld.Utility.Mean >= 0.95 ? "meets" : "misses")} MU ≥ 0.95×.");
        foreach (var b in rows.Where(r => r != uld))
        {
            var fq = uld.ForgetQuality.Beats(b.ForgetQuality) ? "higher FQ" : b.ForgetQuality.Beats(uld.ForgetQuality) ? "lower FQ" : "FQ within the spread";
            var mu = uld.Utility.Beats(b.Utility) ? "higher MU" : b.Utility.Beats(uld.Utility) ? "lower MU" : "MU within the spread";
            var verdict = (fq, mu) switch
            {
                ("higher FQ", not "lower MU") => "ULD ahead",
                ("lower FQ", not "higher MU") => "ULD behind",
                ("FQ within the spread", "higher MU") => "ULD ahead on utility only",
                ("FQ within the spread", "lower MU") => "ULD behind on utility",
                ("FQ within the spread", _) => "no difference",
                _ => "a trade-off",
            };
            yield return $"vs {Label(b.Method)}: {verdict} ({fq}, {mu}).";
        }
    }

    private static List<MethodRow> Rows(string work, string test, IReadOnlyList<DeploymentResult> all, DeploymentResult target, IReadOnlyDictionary<string, string> selected)
    {
        var rows = new List<MethodRow>();
        var seeds = all.Where(r => r.Alpha is null && ConfigurationSelection.Parse(r.Deployment) is { } p && p.Config.StartsWith("seed", StringComparison.Ordinal))
            .GroupBy(r => ConfigurationSelection.Parse(r.Deployment)!.Value.Method);
        foreach (var method in seeds.OrderBy(g => g.Key == "uld" ? "" : g.Key, StringComparer.Ordinal))
        {
            var r = method.ToList();
            Spread S(Func<DeploymentResult, double?> f) => Spread.Of(r.Select(f).Where(v => v is not null && double.IsFinite(v.Value)).Select(v => v!.Value).ToList());
            var runs = r.Select(x => Path.Combine(work, "test", test, method.Key, ConfigurationSelection.Parse(x.Deployment)!.Value.Config)).ToList();
            Spread? alpha = method.Key == "uld" ? Spread.Of(runs.Select(CalibratedAlpha).OfType<double>().ToList()) : null;
            rows.Add(new MethodRow(method.Key, selected.GetValueOrDefault(method.Key, "?"), S(x => x.ForgetQuality), S(x => x.ModelUtility / target.ModelUtility),
                S(x => x.Forget.RougeL), S(x => x.Retain.RougeL), S(x => x.VerbMem), S(x => x.PrivLeak), alpha,
                Spread.Of(runs.Select(TrainSeconds).OfType<double>().ToList())));
        }
        return rows;
    }

    /// <summary>Calibrated α against fixed α on the same assistant (the first seed's): how much FQ calibration leaves on the table.</summary>
    private static void AlphaSection(StringBuilder md, string work, string test, IReadOnlyList<DeploymentResult> all, DeploymentResult target,
        List<(string, IReadOnlyList<DeploymentResult>, DeploymentResult)> series, string plotFile)
    {
        var sweep = all.Where(r => r.Alpha is not null && ConfigurationSelection.Parse(r.Deployment)?.Method == "uld").OrderBy(r => r.Alpha).ToList();
        if (sweep.Count == 0) return;
        series.Add((test, sweep, target));
        var assistant = ConfigurationSelection.Parse(sweep[0].Deployment)!.Value.Config;
        var calibrated = all.FirstOrDefault(r => r.Deployment == "uld~" + assistant);
        var alpha = CalibratedAlpha(Path.Combine(work, "test", test, "uld", assistant));
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### Calibrated α vs fixed α ({test}, assistant uld~{assistant})").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![forget quality and utility vs α]({plotFile})").AppendLine();
        md.AppendLine("| α | FQ | MU × target | forget ROUGE-L | PrivLeak |").AppendLine("|---|---|---|---|---|");
        foreach (var r in sweep)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Alpha} | {Format.P(r.ForgetQuality)} | {r.ModelUtility / target.ModelUtility:F3} | {r.Forget.RougeL:F3} | {Format.PrivLeak(r.PrivLeak)} |");
        if (calibrated is not null)
            md.AppendLine(CultureInfo.InvariantCulture, $"| **{alpha:F3} (calibrated)** | **{Format.P(calibrated.ForgetQuality)}** | **{calibrated.ModelUtility / target.ModelUtility:F3}** | {calibrated.Forget.RougeL:F3} | {Format.PrivLeak(calibrated.PrivLeak)} |");
        var eligible = sweep.Where(r => r.ModelUtility >= ConfigurationSelection.UtilityFloor * target.ModelUtility).ToList();
        if (calibrated is not null && eligible.Count > 0)
        {
            var best = eligible.MaxBy(r => r.ForgetQuality ?? 0)!;
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture,
                $"Best fixed α on the test set itself (an oracle no deployment has): {best.Alpha} with FQ {Format.P(best.ForgetQuality)}; calibration chose {alpha:F3} with FQ {Format.P(calibrated.ForgetQuality)} ({(calibrated.ForgetQuality >= best.ForgetQuality ? "as good or better" : "below the oracle")}).");
        }
    }

    private static void ValidationSection(StringBuilder md, string validation, IReadOnlyList<EvaluationRun> runs, IReadOnlyDictionary<string, string> selected)
    {
        var all = runs.SelectMany(r => r.Results).ToList();
        var target = all.FirstOrDefault(r => r.Deployment == "target");
        md.AppendLine().AppendLine($"## Validation: {validation} (seed 1234; where the configurations were chosen)").AppendLine();
        if (target is null) { md.AppendLine("Not run."); return; }
        md.AppendLine("| method | configuration | FQ | MU × target | forget ROUGE-L | chosen |").AppendLine("|---|---|---|---|---|---|");
        foreach (var r in all.Where(r => ConfigurationSelection.Parse(r.Deployment) is not null)
                     .OrderBy(r => ConfigurationSelection.Parse(r.Deployment)!.Value.Method == "uld" ? "" : ConfigurationSelection.Parse(r.Deployment)!.Value.Method, StringComparer.Ordinal)
                     .ThenBy(r => r.Deployment, StringComparer.Ordinal))
        {
            var (method, config) = ConfigurationSelection.Parse(r.Deployment)!.Value;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {Label(method)} | {config} | {Format.P(r.ForgetQuality)} | {r.ModelUtility / target.ModelUtility:F3} | {r.Forget.RougeL:F3} | {(selected.GetValueOrDefault(method) == config ? "✓" : "")} |");
        }
    }

    private static IReadOnlyList<EvaluationRun> Runs(string work, string set)
    {
        var dir = Path.Combine(work, "results", set);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal).Select(EvaluationRun.Load).ToList() : [];
    }

    private static IReadOnlyDictionary<string, string> Selected(string work, string validation) =>
        ConfigurationSelection.ReadChoices(Path.Combine(work, $"selected-{validation}.txt"));

    /// <summary>The recommended α an assistant's manifest records (metrics.calibration.recommended_alpha).</summary>
    public static double? CalibratedAlpha(string assistantDirectory)
    {
        var manifest = Path.Combine(assistantDirectory, "manifest.json");
        return File.Exists(manifest) ? JsonNode.Parse(File.ReadAllText(manifest))?["metrics"]?["calibration"]?["recommended_alpha"]?.GetValue<double>() : null;
    }

    /// <summary>A run's training wall time from its manifest (an offset run's is its unlearned model's).</summary>
    private static double? TrainSeconds(string runDirectory)
    {
        var manifest = Path.Combine(runDirectory, "manifest.json");
        if (!File.Exists(manifest)) manifest = Path.Combine(runDirectory, "unlearned", "manifest.json");
        return File.Exists(manifest) ? JsonNode.Parse(File.ReadAllText(manifest))?["metrics"]?["train_seconds"]?.GetValue<double>() : null;
    }

    private static string Seeds(int n) => n == 1 ? "1 seed" : $"{n} seeds";

    private static string Label(string method) => MethodLabels.Of(method);
    private static string F3(double x) => x.ToString("F3", CultureInfo.InvariantCulture);
}
