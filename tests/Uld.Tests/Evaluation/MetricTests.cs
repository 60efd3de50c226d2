using Uld.Evaluation.Metrics;

namespace Uld.Tests.Evaluation;

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
    public void Truth_ratio_and_option_probability_follow_the_tofu_definitions()
    {
        // Paraphrase: 2 tokens, log p = 2·ln 0.5 → 0.5 per token. Perturbed: 0.25 and 0.125 per token.
        var paraphrased = new AnswerScore(2 * Math.Log(0.5), 2);
        AnswerScore[] perturbed = [new(3 * Math.Log(0.25), 3), new(Math.Log(0.125), 1)];
        Assert.Equal((0.25 + 0.125) / 2 / 0.5, TofuStatistics.TruthRatio(paraphrased, perturbed), 12);
        Assert.Equal(1 - 0.375, TofuStatistics.TruthScore(0.375), 12);
        Assert.Equal(0.0, TofuStatistics.TruthScore(1.7));
        Assert.Equal(0.5 / (0.5 + 0.25 + 0.125), TofuStatistics.OptionProbability(paraphrased, perturbed), 12);
    }
}
