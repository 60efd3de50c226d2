using Uld.Tests.Support;
using Uld.Trainer.Torch;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Unlearning.Methods;

/// <summary>The new forget terms and token weights against values worked out by hand on tensors of a few elements.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class TokenLevelLossTests
{
    private const long I = TrainingBatch.Ignore;

    public TokenLevelLossTests() => TorchRuntime.EnsureInitialized();

    private static float Value(Tensor t) => t.item<float>();
    private static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    [Fact]
    public void Token_npo_is_the_weighted_mean_of_per_token_npo_over_answer_tokens()
    {
        // Tokens: log p_θ = ln .5, ln .25, (ignored); log p_ref = ln .25, ln .25; weights 1.5, .5; β = 1.
        // logσ(−(ln .5 − ln .25)) = logσ(−ln 2) = −ln 3 and logσ(0) = −ln 2, so the loss is −2·(1.5·(−ln 3) + .5·(−ln 2)) / 2.
        var lp = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.25f), 0f }).view(1, 3);
        var reference = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.25f), 0f }).view(1, 3);
        var weights = tensor(new[] { 1.5f, 0.5f, 0f }).view(1, 3);
        var targets = tensor(new[] { 1L, 2L, I }).view(1, 3);
        var expected = 1.5 * Math.Log(3) + 0.5 * Math.Log(2);
        Assert.Equal(expected, Value(TokenWeights.TokenNpo(lp, reference, weights, targets, beta: 1)), 5);
        // β = 0.1 and unit weights: −(2/β)·mean logσ(−β·Δ) with Δ = ln 2, 0.
        var ones = tensor(new[] { 1f, 1f, 0f }).view(1, 3);
        var beta = 0.1;
        var npo = -(2 / beta) * (Math.Log(1 / (1 + Math.Exp(beta * Math.Log(2)))) + Math.Log(0.5)) / 2;
        Assert.Equal(npo, Value(TokenWeights.TokenNpo(lp, reference, ones, targets, beta)), 4);
    }

    [Fact]
    public void Above_chance_weights_have_mean_one_and_drop_tokens_at_or_below_chance()
    {
        // V = 4, chance = ln 4: scores [ln .5 + ln 4, ln .25 + ln 4, ln .125 + ln 4]₊ = [ln 2, 0, 0] → weights [3, 0, 0].
        var lp = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.25f), MathF.Log(0.125f), 0f }).view(1, 4);
        var targets = tensor(new[] { 1L, 2L, 3L, I }).view(1, 4);
        var w = Values(TokenWeights.AboveChance(lp, targets, vocab: 4));
        Assert.Equal([3f, 0f, 0f, 0f], w.Select(x => MathF.Round(x, 5)));
        // Everything at or below chance: no token is preferred, the weights fall back to uniform.
        var low = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.1f), 0f, 0f }).view(1, 4);
        Assert.Equal([1f, 1f, 0f, 0f], Values(TokenWeights.AboveChance(low, tensor(new[] { 1L, 2L, I, I }).view(1, 4), vocab: 4)));
    }

    [Fact]
    public void Retain_gradient_dissimilarity_weights_are_one_minus_the_nearest_retain_cosine_normalised_to_mean_one()
    {
        // V = 3. Forget: three answer positions; retain: two answer positions (and one ignored, which must not count).
        float[][] forgetLogits = [[2, 0, 0], [0, 1, 0], [0, 0, 4]];
        long[] forgetTargets = [0, 2, 1];
        float[][] retainLogits = [[1, 0, 0], [0, 0, 3], [0, 9, 0]];
        long[] retainTargets = [0, 1, I];
        var w = Values(TokenWeights.RetainGradientDissimilarity(
            tensor(forgetLogits.SelectMany(r => r).ToArray()).view(1, 3, 3), tensor(forgetTargets).view(1, 3),
            tensor(retainLogits.SelectMany(r => r).ToArray()).view(1, 3, 3), tensor(retainTargets).view(1, 3)));

        // The same by hand: g = softmax(z) − e(y); s_t = 1 − max(0, max_r cos(g_t, g_r)); w = s·N/Σs.
        static double[] Gradient(float[] z, long y)
        {
            var e = z.Select(v => Math.Exp(v)).ToArray();
            return e.Select((v, i) => v / e.Sum() - (i == y ? 1 : 0)).ToArray();
        }
        static double Cosine(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x));
        double[][] retain = [Gradient(retainLogits[0], 0), Gradient(retainLogits[1], 1)];
        var s = forgetLogits.Select((z, t) => 1 - Math.Max(0, retain.Max(r => Cosine(Gradient(z, forgetTargets[t]), r)))).ToArray();
        var expected = s.Select(x => x * 3 / s.Sum()).ToArray();

        for (var t = 0; t < 3; t++) Assert.Equal(expected[t], w[t], 4);
        Assert.Equal(1.0, w.Average(), 5);
        Assert.True(w.Max() - w.Min() > 0.3, $"tokens relate differently to retain, so their weights should differ: {string.Join(", ", w)}");
    }

    [Fact]
    public void Weighted_ascent_and_the_ga_variants_match_their_formulas()
    {
        // Two sequences: log p = [ln .5, ln .25] and [ln .01, (ignored)].
        var lp = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.25f), MathF.Log(0.01f), 0f }).view(2, 2);
        var targets = tensor(new[] { 1L, 2L, 3L, I }).view(2, 2);
        var weights = tensor(new[] { 2f, 0.5f, 0.5f, 0f }).view(2, 2);
        Assert.Equal((2 * Math.Log(0.5) + 0.5 * Math.Log(0.25) + 0.5 * Math.Log(0.01)) / 3, Value(TokenWeights.WeightedAscent(lp, weights, targets)), 5);
        // ga-bounded with ceiling ln 10: the third token (ln .01 < −ln 10) is held at −ln 10 and passes no gradient.
        var bounded = lp.detach().requires_grad_(true);
        var bound = GradientUnlearner.BoundedAscent(bounded, targets, Math.Log(10));
        Assert.Equal((Math.Log(0.5) + Math.Log(0.25) - Math.Log(10)) / 3, Value(bound), 5);
        bound.backward();
        Assert.Equal([1 / 3f, 1 / 3f, 0f, 0f], Values(bounded.grad!).Select(x => MathF.Round(x, 5)).ToArray(), new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void Ga_mean_is_the_mean_over_answers_of_each_answers_mean_log_likelihood()
    {
        // Answers of 2 and 1 tokens with log-likelihoods (ln .5 + ln .25) and ln .01: (mean of the first + the second) / 2.
        var sequences = tensor(new[] { MathF.Log(0.5f) + MathF.Log(0.25f), MathF.Log(0.01f) });
        var targets = tensor(new[] { 1L, 2L, 3L, I }).view(2, 2);
        Assert.Equal(((Math.Log(0.5) + Math.Log(0.25)) / 2 + Math.Log(0.01)) / 2, Value(GradientUnlearner.AnswerMeanAscent(sequences, targets)), 5);
    }

    [Fact]
    public void Rmu_loss_is_the_masked_mean_square_to_the_steering_target_plus_alpha_times_the_retain_drift()
    {
        // d = 2, c·u = (3, 4). Forget: position 0 at (0, 0) counts, position 1 is masked out. Retain: one position off by (1, 1).
        var target = tensor(new[] { 3f, 4f });
        var forgetHidden = tensor(new[] { 0f, 0f, 100f, 100f }).view(1, 2, 2);
        var forgetMask = tensor(new[] { true, false }).view(1, 2);
        var retainHidden = tensor(new[] { 1f, 1f, 2f, 2f }).view(1, 2, 2);
        var referenceHidden = tensor(new[] { 0f, 0f, 2f, 2f }).view(1, 2, 2);
        var retainMask = tensor(new[] { 1L, 1L }).view(1, 2);
        var (loss, forget, retain) = RmuObjective.Loss(forgetHidden, forgetMask, target, retainHidden, referenceHidden, retainMask, alpha: 10);
        Assert.Equal((9 + 16) / 2.0, Value(forget), 5);   // ‖(−3, −4)‖² / d
        Assert.Equal((1 + 1) / 2.0 / 2, Value(retain), 5); // (‖(1, 1)‖²/d + 0) / 2 positions
        Assert.Equal(12.5 + 10 * 0.5, Value(loss), 4);
        Assert.Equal(1.0, Value(RmuObjective.Direction(128, 7).norm()), 5);
        Assert.True(Values(RmuObjective.Direction(128, 7)).All(x => x >= 0), "u is drawn from [0, 1)^d");
    }

    [Fact]
    public void Former_method_names_are_refused_and_point_at_the_current_ones()
    {
        Assert.Equal("ga", GradientUnlearner.RenamedTo("ga1"));
        Assert.Equal("ga-mean+kl", GradientUnlearner.RenamedTo("ga2+kl"));
        Assert.Equal("ga-bounded+gd", GradientUnlearner.RenamedTo("ga3+gd"));
        Assert.Equal("npo-tokenweighted", GradientUnlearner.RenamedTo("tnpo"));
        Assert.Equal("ga-gradsim+gd", GradientUnlearner.RenamedTo("influence+gd"));
        Assert.Null(GradientUnlearner.RenamedTo("influence+kl"));
        Assert.Null(GradientUnlearner.RenamedTo("npo+kl"));
        Assert.DoesNotContain(GradientUnlearner.Methods, m => m.Split('+')[0] is "ga1" or "ga2" or "ga3" or "tnpo" or "influence");
        Assert.Contains("now called 'ga-mean'", GradientUnlearner.Unknown("ga2", GradientUnlearner.Methods));
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
