using Uld.Inference.Sampling;

namespace Uld.Tests.Server;

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
    public void Top_lists_only_possible_tokens_most_likely_first()
    {
        float[] logprobs = [-2, float.NegativeInfinity, -0.5f, -2, -1];
        Assert.Equal([(2, -0.5f), (4, -1f), (0, -2f)], UldLogits.Top(logprobs, 3));
        Assert.Equal(4, UldLogits.Top(logprobs, 10).Length);
    }

    [Fact]
    public void Seeded_sampling_repeats_and_top_p_cuts_the_tail()
    {
        float[] logprobs = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var a = new TokenSampler(1.0, 1.0, 7);
        var b = new TokenSampler(1.0, 1.0, 7);
        var first = Enumerable.Range(0, 50).Select(_ => a.Next(logprobs)).ToList();
        Assert.Equal(first, Enumerable.Range(0, 50).Select(_ => b.Next(logprobs)));
        Assert.Contains(2, Enumerable.Range(0, 2000).Select(_ => a.Next(logprobs)));

        var nucleus = new TokenSampler(1.0, 0.5, 7); // 0.6 alone reaches 0.5
        Assert.All(Enumerable.Range(0, 200).Select(_ => nucleus.Next(logprobs)), t => Assert.Equal(0, t));
        Assert.Equal(0, new TokenSampler(0, 1, null).Next(logprobs));
    }
}
