using Uld.Eval.Reports;
using Uld.Eval.Tofu;
using Uld.Evaluation.Metrics;

namespace Uld.Tests.Evaluation.Metrics;

public class MetricTests
{
    [Theory]
    // Disjoint samples, D = 1: only the 2 extreme paths of C(6,3) = 20 reach it.
    [InlineData(new[] { 1.0, 2, 3 }, new[] { 4.0, 5, 6 }, 1.0, 0.1)]
    // D = 2/3 with m = n = 3: 8 of 20 paths keep |i − j| ≤ 1, so p = 12/20.
    [InlineData(new[] { 1.0, 2, 4 }, new[] { 3.0, 5, 6 }, 2.0 / 3, 0.6)]
    // Interleaved: the smallest possible D for m = n = 2 is 1/2, so p = 1.
    [InlineData(new[] { 1.0, 3 }, new[] { 2.0, 4 }, 0.5, 1.0)]
    // Identical samples (ties across samples): D = 0.
    [InlineData(new[] { 1.0, 2, 2, 5 }, new[] { 1.0, 2, 2, 5 }, 0.0, 1.0)]
    // Unequal sizes, D = 1: the 2 extreme paths of C(5,2) = 10, so p = 0.2.
    [InlineData(new[] { 1.0, 2 }, new[] { 3.0, 4, 5 }, 1.0, 0.2)]
    public void Ks_two_sample_matches_hand_computed_exact_values(double[] x, double[] y, double statistic, double p)
    {
        var r = KolmogorovSmirnov.TwoSample(x, y);
        Assert.Equal(statistic, r.Statistic, 9);
        Assert.Equal(p, r.PValue, 9);
    }

    [Fact]
    public void Ks_p_value_for_equal_samples_of_tofu_size_is_one_and_shifted_ones_are_tiny()
    {
        var a = Enumerable.Range(0, 80).Select(i => i / 80.0).ToArray();
        Assert.Equal(1.0, KolmogorovSmirnov.TwoSample(a, a).PValue, 9);
        var shifted = a.Select(v => v + 0.5).ToArray();
        var r = KolmogorovSmirnov.TwoSample(a, shifted);
        Assert.Equal(0.5, r.Statistic, 9);
        // Exact value for m = n = 80, D = 1/2 (scipy.stats.ks_2samp gives 4.1e-9 here).
        Assert.InRange(r.PValue, 1e-10, 1e-7);
        Assert.Throws<ArgumentException>(() => KolmogorovSmirnov.TwoSample([], a));
    }

    [Fact]
    public void Harmonic_mean_matches_hand_values_and_collapses_at_zero()
    {
        Assert.Equal(2.0 / (1 / 0.5 + 1 / 1.0), Means.Harmonic([0.5, 1.0]), 12);
        Assert.Equal(3.0 / (1 / 0.2 + 1 / 0.4 + 1 / 0.8), Means.Harmonic([0.2, 0.4, 0.8]), 12);
        Assert.Equal(0.0, Means.Harmonic([0.9, 0.0, 0.7]));
        Assert.Throws<ArgumentException>(() => Means.Harmonic([-0.1]));
    }

    [Fact]
    public void Truth_ratio_averages_the_perturbed_losses_as_tofu_does()
    {
        // Paraphrase: 2 tokens, log p = 2·ln 0.5 → 0.5 per token. Perturbed: 0.25 and 0.125 per token.
        var paraphrased = new AnswerScore(2 * Math.Log(0.5), 2);
        AnswerScore[] perturbed = [new(3 * Math.Log(0.25), 3), new(Math.Log(0.125), 1)];
        // TOFU: curr = exp(mean(ln 4, ln 8) − ln 2) = √32 / 2 = 2√2, and R = 1 / curr = √2 / 4 ≈ 0.3536 — the geometric
        // mean √(0.25 · 0.125) over 0.5. The arithmetic mean of the probabilities would give (0.25 + 0.125) / 2 / 0.5 = 0.375.
        var r = TofuStatistics.TruthRatio(paraphrased, perturbed);
        Assert.Equal(Math.Sqrt(2) / 4, r, 12);
        Assert.Equal(1 / Math.Exp((Math.Log(4) + Math.Log(8)) / 2 - Math.Log(2)), r, 12);
        Assert.NotEqual(0.375, r, 3);

        // Sums that are not powers of two: paraphrase −6 over 4 tokens (loss 1.5); perturbed −10 over 5 (loss 2) and
        // −3 over 2 (loss 1.5). R = exp(1.5 − (2 + 1.5) / 2) = exp(−0.25) ≈ 0.7788; the old arithmetic mean gave
        // (e^−2 + e^−1.5) / 2 / e^−1.5 = (e^−0.5 + 1) / 2 ≈ 0.8033.
        var r2 = TofuStatistics.TruthRatio(new AnswerScore(-6, 4), [new(-10, 5), new(-3, 2)]);
        Assert.Equal(Math.Exp(-0.25), r2, 12);
        Assert.NotEqual((Math.Exp(-0.5) + 1) / 2, r2, 3);

        // Truth score (retain side): TOFU's max(0, 1 − 1/curr) = max(0, 1 − R).
        Assert.Equal(1 - Math.Sqrt(2) / 4, TofuStatistics.TruthScore(r), 12);
        Assert.Equal(0.0, TofuStatistics.TruthScore(1.7));

        // A paraphrase of probability 0 (a relative-top filter) is infinitely worse than any perturbed answer.
        Assert.Equal(double.PositiveInfinity, TofuStatistics.TruthRatio(new AnswerScore(double.NegativeInfinity, 3), perturbed));
        Assert.Throws<ArgumentException>(() => TofuStatistics.TruthRatio(paraphrased, []));
    }

    [Fact]
    public void Option_probability_normalises_the_true_answer_over_the_options()
    {
        // TOFU's real authors / world facts probability: avg_true_prob / (avg_true_prob + Σ perturbed), per-token probabilities.
        var truth = new AnswerScore(2 * Math.Log(0.5), 2);
        AnswerScore[] perturbed = [new(3 * Math.Log(0.25), 3), new(Math.Log(0.125), 1)];
        Assert.Equal(0.5 / (0.5 + 0.25 + 0.125), TofuStatistics.OptionProbability(truth, perturbed), 12);
    }

    [Fact]
    public void Auc_is_the_probability_a_positive_outscores_a_negative_with_ties_half()
    {
        // Holdout (positives) [−1, −0.25, −2] vs forget (negatives) [−0.1, −0.2, −0.3]: only −0.25 > −0.3, so 1 of 9.
        Assert.Equal(1.0 / 9, RocAuc.Of([-1.0, -0.25, -2.0], [-0.1, -0.2, -0.3]), 12);
        // [−1, −2] vs [−1, −2]: one win (−1 > −2), two ties: (1 + 0.5 + 0.5) / 4.
        Assert.Equal(0.5, RocAuc.Of([-1.0, -2.0], [-1.0, -2.0]), 12);
        Assert.Equal(1.0, RocAuc.Of([0.0], [-1.0, -2.0]), 12);
    }

    [Fact]
    public void Privleak_has_muses_sign_and_percent_scale()
    {
        // A model that still ranks the forget answers above unseen ones (AUC 1/9) against a retain model at 0.5:
        // (1/9 − 1/2) / (1/2) · 100 = −700/9 ≈ −77.8, negative as MUSE's under-unlearned rows.
        Assert.Equal(-700.0 / 9, Membership.PrivLeak(1.0 / 9, 0.5), 10);
        // Over-unlearned: forget answers now less likely than unseen ones, AUC 0.75 → +50.
        Assert.Equal(50.0, Membership.PrivLeak(0.75, 0.5), 10);
        // MUSE News: a target with AUC 0.001 against the retrained model's 0.4772 → −99.8.
        Assert.Equal(-99.8, Membership.PrivLeak(0.001, 0.4772), 1);

        var leaky = Result(miaAuc: 1.0 / 9);
        TofuEvaluator.CompareWithRetain(leaky, Result(miaAuc: 0.5));
        Assert.Equal(-700.0 / 9, leaky.PrivLeak!.Value, 10);
        Assert.Equal("-77.8", Format.PrivLeak(leaky.PrivLeak));
        var retain = Result(miaAuc: 0.5);
        TofuEvaluator.CompareWithRetain(retain, retain);
        Assert.Equal("0.0", Format.PrivLeak(retain.PrivLeak));
        Assert.Equal("+50.0", Format.PrivLeak(Membership.PrivLeak(0.75, 0.5)));
    }

    private static DeploymentResult Result(double miaAuc)
    {
        var set = new SetMetrics(3, 0.5, 0.5, 1.0, 0.2);
        return new DeploymentResult
        {
            Deployment = "m", Model = "m", Forget = set, Retain = set, RealAuthors = set, WorldFacts = set, ModelUtility = 0.5,
            VerbMem = 0.1, MiaAuc = miaAuc, ForgetTruthRatios = [0.5, 1.0, 2.0], ForgetExamples = [], RetainExamples = [],
        };
    }
}
