using Uld.Inference.Sampling;

namespace Uld.Tests.Inference.Sampling;

/// <summary>The ULD combination against hand-computed values.</summary>
public sealed class UldLogitsTests
{
    [Fact]
    public void Relative_top_keeps_tokens_near_the_base_maximum_and_subtracts_the_assistant()
    {
        // Base probabilities ∝ e^{2}, e^{1}, e^{-2}: p = 0.7214, 0.2654, 0.0132. With r = 0.1 the threshold is 0.0721,
        // so token 2 (0.0132) is masked. Kept tokens get l_base − α·l_assistant: 2 − 1·3 = −1 and 1 − 1·0 = 1.
        float[] baseLogits = [2, 1, -2];
        float[] assistantLogits = [3, 0, 0];
        var logprobs = new float[3];
        UldLogits.Combine(baseLogits, assistantLogits, alpha: 1.0, relativeTop: 0.1, logprobs);

        var expected0 = -1 - Math.Log(Math.Exp(-1) + Math.Exp(1));
        Assert.Equal(expected0, logprobs[0], 5);
        Assert.Equal(1 - Math.Log(Math.Exp(-1) + Math.Exp(1)), logprobs[1], 5);
        Assert.True(float.IsNegativeInfinity(logprobs[2]));
    }

    [Fact]
    public void Alpha_zero_or_no_assistant_is_the_base_log_softmax()
    {
        float[] baseLogits = [0.5f, -1, 3];
        var expected = new float[3];
        UldLogits.LogSoftmax(baseLogits, expected);
        var actual = new float[3];
        UldLogits.Combine(baseLogits, [9, 9, 9], alpha: 0, relativeTop: 0.5, actual);
        Assert.Equal(expected, actual);
        UldLogits.Combine(baseLogits, default, alpha: 1, relativeTop: 0.5, actual);
        Assert.Equal(expected, actual);
        Assert.Equal(1.0, expected.Sum(lp => Math.Exp(lp)), 5);
    }

    [Fact]
    public void Suppress_only_leaves_the_base_alone_where_the_assistant_is_uniform()
    {
        float[] baseLogits = [0.5f, -1, 3, 2];
        var expected = new float[4];
        UldLogits.LogSoftmax(baseLogits, expected);
        var actual = new float[4];
        UldLogits.Combine(baseLogits, [7, 7, 7, 7], alpha: 3, relativeTop: 0, actual, UldRule.SuppressOnly);
        Assert.Equal(expected.Select(e => (double)e), actual.Select(a => (double)a), new ToleranceComparer(1e-6));
        // The difference rule is shift-invariant too, but a uniform assistant is the only case where the two agree.
        UldLogits.Combine(baseLogits, [7, 7, 7, 7], alpha: 3, relativeTop: 0, actual, UldRule.Difference);
        Assert.Equal(expected.Select(e => (double)e), actual.Select(a => (double)a), new ToleranceComparer(1e-6));
    }

    [Fact]
    public void Suppress_only_pushes_down_what_the_assistant_remembers_and_never_raises_a_token()
    {
        // Assistant p = softmax(3, 0, 0, −4) = 0.9087, 0.0452, 0.0452, 0.0008; V = 4, so log p + log 4 is
        // 1.2905, −1.7095, −1.7095, −5.7095: only token 0 is above uniform and loses α·1.2905 = 2.5811.
        float[] baseLogits = [2, 1, 0, 0];
        float[] assistantLogits = [3, 0, 0, -4];
        var logprobs = new float[4];
        UldLogits.Combine(baseLogits, assistantLogits, alpha: 2, relativeTop: 0, logprobs, UldRule.SuppressOnly);

        double[] scores = [2 - 2 * 1.2905424, 1, 0, 0];
        var norm = Math.Log(scores.Sum(Math.Exp));
        for (var v = 0; v < 4; v++) Assert.Equal(scores[v] - norm, logprobs[v], 4);
        // The tokens the assistant finds unlikely keep the base's ratios (token 3 is not lifted above token 2) ...
        Assert.Equal(logprobs[2], logprobs[3]);
        // ... where the difference rule lifts token 3 by α·4 above token 2: the source of the word salad.
        var difference = new float[4];
        UldLogits.Combine(baseLogits, assistantLogits, alpha: 2, relativeTop: 0, difference, UldRule.Difference);
        Assert.Equal(8, difference[3] - difference[2], 4);
    }

    [Fact]
    public void A_fused_graphs_logits_give_the_same_distribution_under_either_rule()
    {
        float[] baseLogits = [2, 1, 0, 0.5f, -3];
        float[] assistantLogits = [3, 0, 0, -4, 1];
        const double alpha = 1.5;
        var fused = baseLogits.Select((b, v) => b - (float)alpha * assistantLogits[v]).ToArray();
        foreach (var rule in Enum.GetValues<UldRule>())
        {
            var (twoSessions, oneGraph) = (new float[5], new float[5]);
            UldLogits.Combine(baseLogits, assistantLogits, alpha, relativeTop: 0.01, twoSessions, rule);
            UldLogits.CombineFused(baseLogits, fused, alpha, relativeTop: 0.01, oneGraph, rule);
            Assert.Equal(twoSessions.Select(x => (double)x), oneGraph.Select(x => (double)x), new ToleranceComparer(1e-5));
        }
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => (double.IsNegativeInfinity(x) && double.IsNegativeInfinity(y)) || Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void Top_lists_only_possible_tokens_most_likely_first()
    {
        float[] logprobs = [-2, float.NegativeInfinity, -0.5f, -2, -1];
        Assert.Equal([(2, -0.5f), (4, -1f), (0, -2f)], UldLogits.Top(logprobs, 3));
        Assert.Equal(4, UldLogits.Top(logprobs, 10).Length);
    }
}
