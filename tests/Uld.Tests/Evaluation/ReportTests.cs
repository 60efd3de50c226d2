using System.Text.Json;
using Uld.Contracts;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;
using Uld.Tests.Support;

namespace Uld.Tests.Evaluation;

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

    [Fact]
    public void Tofu_mini_report_checks_the_targets_and_draws_the_alpha_plot()
    {
        using var work = new TempDirectory();
        Directory.CreateDirectory(work["results"]);
        var run = new EvaluationRun
        {
            ForgetSet = "forget4", Split = "tofu-mini", RetainDeployment = "retain",
            Results =
            [
                Result("retain", null, 1.0, 0.1, 0.50), Result("target", null, 1e-9, 1.0, 0.60), Result("npo+gd", null, 0.01, 0.2, 0.58),
                Result("ga", null, 0.9, 0.0, 0.10), Result("uld@0.5", 0.5, 0.2, 0.6, 0.60), Result("uld@0.8", 0.8, 0.7, 0.3, 0.59),
                Result("soul-npo+kl", null, 0.02, 0.25, 0.55),
            ],
        };
        File.WriteAllText(Path.Combine(work["results"], "forget4.json"), JsonSerializer.Serialize(run, Json.Options));
        var plot = work["alpha.png"];

        var markdown = TofuMiniReport.Write(work.Path, 0.8, plot);

        Assert.Contains("| ULD | 0.700 | 0.300 | 0.590 | 0.900 |", markdown);
        Assert.Contains("| NPO+GD | 0.010 | 0.200 | 0.580 | 0.900 |", markdown);
        Assert.Contains("| DPO | not run |", markdown);
        Assert.Contains("| NPO+KL (SOUL) | 0.020 | 0.250 | 0.550 | 0.900 |", markdown); // the Sophia run of NPO+KL, deployment soul-npo+kl
        Assert.Contains("| RMU | not run |", markdown);
        // FQ 0.7 ≥ 0.5 ✓, MU 0.59/0.60 ≥ 0.95 ✓; GA has higher FQ but far lower MU, so ULD is still ahead at equal or better MU.
        Assert.Contains("ULD FQ 0.700 ✓ (≥ 0.5); MU 0.983× target ✓ (≥ 0.95×); ahead of every gradient baseline", markdown);
        var png = File.ReadAllBytes(plot);
        Assert.True(png.Length > 10_000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
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
