using System.Text.Json;
using Uld.Contracts;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;
using Uld.Tests.Support;

namespace Uld.Tests.Eval.Reports;

/// <summary>The benchmark report: rows and target checks from evaluation results, and a real PNG plot.</summary>
public sealed class ReportTests
{
    private static DeploymentResult Result(string deployment, double? alpha, double fq, double forgetRouge, double mu)
    {
        var set = new SetMetrics(10, 0.5, forgetRouge, 1.0, 0.2);
        return new DeploymentResult
        {
            Deployment = deployment, Model = deployment.Split('@')[0], Alpha = alpha, Forget = set, Retain = set with { RougeL = 0.9 },
            RealAuthors = set, WorldFacts = set, ModelUtility = mu, ForgetQuality = fq, VerbMem = 0.1, MiaAuc = 0.5, ForgetTruthRatios = [1.0],
            ForgetExamples = [], RetainExamples = [],
        };
    }

    private static void Save(TempDirectory work, string set, string file, params DeploymentResult[] results)
    {
        Directory.CreateDirectory(work[Path.Combine("results", set)]);
        File.WriteAllText(work[Path.Combine("results", set, file)],
            new EvaluationRun { ForgetSet = set, Split = "tofu-mini", RetainDeployment = "retain", Results = [.. results] }.ToJson());
    }

    [Fact]
    public void Tofu_mini_report_shows_test_seeds_as_mean_and_sd_and_claims_only_wins_beyond_the_spread()
    {
        using var work = new TempDirectory();
        Save(work, "val4", "_reference.json", Result("retain", null, 1.0, 0.1, 0.50), Result("target", null, 1e-9, 1.0, 0.60));
        Save(work, "val4", "npo+gd.json", Result("npo+gd~lr1e-4_steps50", null, 0.3, 0.2, 0.59), Result("npo+gd~lr5e-4_steps200", null, 0.9, 0.2, 0.40));
        File.WriteAllText(work["selected-val4.txt"], "npo+gd lr1e-4_steps50\nuld wr2_steps400\nrmu lr1e-2_steps50\n");
        Save(work, "forget4", "_reference.json", Result("retain", null, 1.0, 0.1, 0.50), Result("target", null, 1e-9, 1.0, 0.60));
        Save(work, "forget4", "uld.json", Result("uld~seed1", null, 0.6, 0.2, 0.60), Result("uld~seed2", null, 0.8, 0.2, 0.58),
            Result("uld~seed1@1", 1, 0.1, 0.5, 0.60), Result("uld~seed1@2", 2, 0.7, 0.2, 0.59));
        Save(work, "forget4", "npo+gd.json", Result("npo+gd~seed1", null, 0.01, 0.2, 0.60), Result("npo+gd~seed2", null, 0.03, 0.2, 0.60));
        Save(work, "forget4", "rmu.json", Result("rmu~seed1", null, 0.5, 0.2, 0.60), Result("rmu~seed2", null, 0.9, 0.2, 0.60));
        Directory.CreateDirectory(work["test/forget4/uld/seed1"]);
        File.WriteAllText(work["test/forget4/uld/seed1/manifest.json"], """{ "metrics": { "calibration": { "recommended_alpha": 1.5 } } }""");
        Directory.CreateDirectory(work["test/forget4/uld/seed2"]);
        File.WriteAllText(work["test/forget4/uld/seed2/manifest.json"], """{ "metrics": { "calibration": { "recommended_alpha": 2.5 } } }""");
        var plot = work["alpha.png"];

        var markdown = TofuMiniReport.Write(work.Path, [("val4", "forget4")], plot);

        // mean ± sample sd of two seeds: FQ (0.6, 0.8) → 0.700 ± 0.141; MU (1.0, 0.967)× → 0.983 ± 0.024; α (1.5, 2.5) → 2.000 ± 0.707.
        Assert.Contains("| ULD | wr2_steps400 | 2 | 0.700 ± 0.141 | 0.983 ± 0.024 |", markdown);
        Assert.Contains("| 2.000 ± 0.707 |", markdown);
        Assert.Contains("| NPO+GD | lr1e-4_steps50 | 2 | 0.020 ± 0.014 | 1.000 ± 0.000 |", markdown);
        // ULD 0.7 − 0.141 > 0.02 + 0.014: a win; RMU's 0.7 ± 0.283 overlaps: no win claimed either way.
        Assert.Contains("vs NPO+GD: ULD ahead (higher FQ, MU within the spread).", markdown);
        Assert.Contains("vs RMU: no difference (FQ within the spread, MU within the spread).", markdown);
        Assert.Contains("ULD: FQ 0.700 ± 0.141 at MU 0.983 ± 0.024× target — meets FQ ≥ 0.5, meets MU ≥ 0.95×.", markdown);
        // The validation table marks the configuration the rule chose: the one above the utility floor, not the higher FQ below it.
        Assert.Contains("| NPO+GD | lr1e-4_steps50 | 0.300 | 0.983 | 0.200 | ✓ |", markdown);
        Assert.Contains("| NPO+GD | lr5e-4_steps200 | 0.900 | 0.667 | 0.200 |  |", markdown);
        // Calibrated α beside the fixed-α sweep of the first seed's assistant, and the plot drawn from it.
        Assert.Contains("| **1.500 (calibrated)** | **0.600** | **1.000** |", markdown);
        Assert.Contains("Best fixed α on the test set itself (an oracle no deployment has): 2 with FQ 0.700; calibration chose 1.500 with FQ 0.600 (below the oracle).", markdown);
        var png = File.ReadAllBytes(plot);
        Assert.True(png.Length > 10_000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));

        // The README's block is the same table and sentences, and only the block is rewritten.
        var readme = "intro\n<!-- tofu-mini results: begin -->\nold numbers\n<!-- tofu-mini results: end -->\noutro\n";
        var rewritten = TofuMiniReport.ReplaceBlock(readme, TofuMiniReport.Headline(work.Path, [("val4", "forget4"), ("val2", "forget2")]));
        Assert.StartsWith("intro\n<!-- tofu-mini results: begin -->\n**forget4** (configurations chosen on val4; mean ± sd over 2 seeds):", rewritten);
        Assert.Contains("| ULD | 0.700 ± 0.141 | 0.983 ± 0.024 |", rewritten);
        Assert.Contains("- vs NPO+GD: ULD ahead (higher FQ, MU within the spread).", rewritten);
        Assert.Contains("- forget2: not run yet", rewritten);
        Assert.DoesNotContain("old numbers", rewritten);
        Assert.EndsWith("<!-- tofu-mini results: end -->\noutro\n", rewritten);
        Assert.Throws<Uld.Contracts.UserErrorException>(() => TofuMiniReport.ReplaceBlock("no markers", "x"));
    }

    [Fact]
    public void Selection_takes_the_best_forget_quality_above_the_utility_floor_else_the_best_utility()
    {
        var chosen = ConfigurationSelection.Choose([
            Result("ga+gd~a", null, 0.9, 0, 0.50), Result("ga+gd~b", null, 0.2, 0, 0.58), Result("ga+gd~c", null, 0.4, 0, 0.57),
            Result("rmu~a", null, 0.9, 0, 0.30), Result("rmu~b", null, 0.1, 0, 0.40), Result("target", null, 0, 0, 0.60),
        ], targetUtility: 0.60);
        Assert.Equal(["ga+gd", "rmu"], chosen.Keys);
        Assert.Equal(("c", true), (chosen["ga+gd"].Config, chosen["ga+gd"].MeetsFloor)); // 0.57 ≥ 0.95 × 0.60 = 0.57, FQ 0.4 > 0.2
        Assert.Equal(("b", false), (chosen["rmu"].Config, chosen["rmu"].MeetsFloor));    // none reaches the floor: highest utility
        Assert.Equal(("npo+kl", "lr5e-4_steps200"), ConfigurationSelection.Parse("npo+kl~lr5e-4_steps200@2"));
        Assert.Null(ConfigurationSelection.Parse("target"));
    }

    [Fact]
    public void Results_with_infinite_truth_ratios_round_trip()
    {
        // A relative-top filter can give a paraphrase probability 0: its truth ratio is ∞ and must survive the JSON.
        var run = new EvaluationRun { ForgetSet = "forget1", Split = "tofu-mini", Results = [Result("uld@1@0.1", 1, 0.0, 0.9, 0.0) with { ForgetTruthRatios = [double.PositiveInfinity, 0.5] }] };
        using var temp = new TempDirectory();
        File.WriteAllText(temp["run.json"], run.ToJson());
        Assert.Equal([double.PositiveInfinity, 0.5], EvaluationRun.Load(temp["run.json"]).Results[0].ForgetTruthRatios);
        File.WriteAllText(temp["bad.json"], "{ not json");
        Assert.Throws<Uld.Contracts.UserErrorException>(() => EvaluationRun.Load(temp["bad.json"]));
    }
}
