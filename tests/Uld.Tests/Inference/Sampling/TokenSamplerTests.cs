using Uld.Inference.Sampling;

namespace Uld.Tests.Inference.Sampling;

/// <summary>The sampling controls' formulas on small logit vectors, checked numerically (docs/DESIGN.md, *Sampling controls*).</summary>
public sealed class TokenSamplerTests
{
    private static float[] Adjusted(SamplingSettings settings, float[] logits, int[] prompt, params int[] output)
    {
        var adjustments = new LogitAdjustments(settings, prompt);
        foreach (var token in output) adjustments.Observe(token);
        var result = (float[])logits.Clone();
        adjustments.Apply(result);
        return result;
    }

    [Fact]
    public void Frequency_and_presence_penalties_follow_openais_formula_over_this_choices_output()
    {
        // l[t] −= c[t]·frequency + (c[t] > 0)·presence; the prompt's tokens (3) do not count.
        var settings = new SamplingSettings { FrequencyPenalty = 0.5, PresencePenalty = 0.25 };
        var actual = Adjusted(settings, [0, 1, 2, 3], prompt: [3, 3], 1, 1, 2);
        Assert.Equal([0f, 1 - 2 * 0.5f - 0.25f, 2 - 0.5f - 0.25f, 3f], actual);
        // Negative values encourage repetition.
        Assert.Equal([0f, 2.5f], Adjusted(new SamplingSettings { PresencePenalty = -1.5 }, [0, 1], [], 1));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_prompt_and_output_tokens()
    {
        var settings = new SamplingSettings { RepetitionPenalty = 2 };
        // Token 0 is in the prompt, 2 in the output (twice: the penalty applies once), 1 and 3 in neither.
        Assert.Equal([2f, 4f, -6f, -3f], Adjusted(settings, [4, 4, -3, -3], prompt: [0], 2, 2));
    }

    [Fact]
    public void Logit_bias_comes_first_and_never_revives_a_masked_token()
    {
        var settings = new SamplingSettings { LogitBias = new Dictionary<int, float> { [0] = 100, [1] = 100, [2] = 2 }, RepetitionPenalty = 2 };
        // −∞ (masked by the decode rule) stays −∞; token 2 (in the prompt): bias then penalty, (−1 + 2) / 2, not −1·2 + 2.
        Assert.Equal([float.NegativeInfinity, 100f, 0.5f], Adjusted(settings, [float.NegativeInfinity, 0, -1], prompt: [2]));
    }

    [Fact]
    public void Greedy_takes_the_argmax_after_the_penalties()
    {
        var sampler = new TokenSampler(SamplingSettings.Greedy with { PresencePenalty = 0.5 }, []);
        float[] logits = [2f, 1.9f];
        // 0 first; then 2 − 0.5 < 1.9; then both penalised once: 1.5 > 1.4.
        Assert.Equal([0, 1, 0], Enumerable.Range(0, 3).Select(_ => sampler.Next(logits)));
    }

    [Theory]
    [InlineData(1.0, 0, 0.0, 1.0, new[] { 0.5, 0.3, 0.15, 0.05 })]
    [InlineData(0.5, 0, 0.0, 1.0, new[] { 0.25 / 0.365, 0.09 / 0.365, 0.0225 / 0.365, 0.0025 / 0.365 })] // p ∝ p^(1/T)
    [InlineData(1.0, 2, 0.0, 1.0, new[] { 0.5 / 0.8, 0.3 / 0.8, 0, 0 })]                                 // top_k 2
    [InlineData(1.0, 0, 0.2, 1.0, new[] { 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0 })]                     // min_p: p ≥ 0.1
    [InlineData(1.0, 0, 0.0, 0.7, new[] { 0.5 / 0.8, 0.3 / 0.8, 0, 0 })]                                 // top_p: 0.5 < 0.7 ≤ 0.8
    [InlineData(1.0, 3, 0.0, 0.8, new[] { 0.5 / 0.8, 0.3 / 0.8, 0, 0 })]                                 // top_p of the top 3's mass: 0.8 ≥ 0.8·0.95
    [InlineData(1.0, 3, 0.0, 0.9, new[] { 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0 })]                     // 0.8 < 0.9·0.95
    [InlineData(1.0, 0, 0.4, 0.6, new[] { 1.0, 0, 0, 0 })]                                               // min_p first: 0.5, 0.3 are left, and 0.5 reaches 0.6 of their 0.8
    public void Temperature_top_k_min_p_and_top_p_give_vllms_distribution(double temperature, int topK, double minP, double topP, double[] expected)
    {
        var sampler = new TokenSampler(new SamplingSettings { Temperature = temperature, TopK = topK, MinP = minP, TopP = topP, Seed = 11 }, []);
        float[] logits = [MathF.Log(0.5f) + 3, MathF.Log(0.3f) + 3, MathF.Log(0.15f) + 3, MathF.Log(0.05f) + 3]; // any shift: logits, not log-probabilities
        const int draws = 40_000;
        var counts = new int[4];
        for (var i = 0; i < draws; i++) counts[sampler.Next(logits)]++;
        for (var v = 0; v < 4; v++)
        {
            if (expected[v] == 0) Assert.Equal(0, counts[v]);
            else Assert.InRange(counts[v] / (double)draws, expected[v] - 0.015, expected[v] + 0.015);
        }
    }

    [Fact]
    public void A_seeded_choice_repeats_and_depends_on_its_seed_and_index_only()
    {
        float[] logits = [0, 0, 0, 0, 0, 0, 0, 0];
        List<int> Draws(long seed, int choice)
        {
            var sampler = new TokenSampler(new SamplingSettings { Seed = seed }, [], choice);
            return Enumerable.Range(0, 40).Select(_ => sampler.Next(logits)).ToList();
        }
        Assert.Equal(Draws(7, 1), Draws(7, 1));
        Assert.NotEqual(Draws(7, 0), Draws(7, 1));
        Assert.NotEqual(Draws(8, 0), Draws(7, 1)); // the index is mixed in, not added to the seed
        Assert.NotEqual(Draws(6, 1), Draws(7, 0));
    }

    [Fact]
    public void Without_controls_the_sampler_draws_from_the_served_distribution()
    {
        var sampler = new TokenSampler(new SamplingSettings { Seed = 3 }, [5, 5]);
        float[] logits = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var counts = new int[3];
        for (var i = 0; i < 30_000; i++) counts[sampler.Next(logits)]++;
        Assert.InRange(counts[2] / 30_000.0, 0.085, 0.115); // no penalty from its own output or the prompt
    }

    [Theory]
    [InlineData(0, 0.9, 0.0)]
    [InlineData(40, 1.0, 0.0)]
    [InlineData(40, 0.8, 0.0)]
    [InlineData(0, 0.5, 0.05)]
    [InlineData(1, 0.3, 0.0)]
    [InlineData(5000, 0.99, 0.0)]
    public void Top_k_and_top_p_by_selection_draw_exactly_what_a_full_sort_would(int topK, double topP, double minP)
    {
        // The sampler orders only the kept head; a full sort of the vocabulary (the definition) must give the same tokens
        // for the same generator, over peaked, flat and tied distributions of a 32K vocabulary.
        var data = new Random(5);
        for (var trial = 0; trial < 30; trial++)
        {
            var logits = new float[32_000];
            var spread = trial % 3 == 0 ? 0.1f : trial % 3 == 1 ? 3f : 8f;
            for (var v = 0; v < logits.Length; v++) logits[v] = trial % 5 == 4 ? MathF.Round((float)data.NextDouble() * 4) : (float)data.NextDouble() * spread;
            var settings = new SamplingSettings { Temperature = 0.7, TopK = topK, TopP = topP, MinP = minP, Seed = trial };
            var sampler = new TokenSampler(settings, []);
            var reference = ChoiceRandom.Create(settings.Seed, 0);
            for (var draw = 0; draw < 5; draw++)
                Assert.Equal(FullSortDraw(logits, settings, reference), sampler.Next(logits));
        }
    }

    /// <summary>vLLM's order of the controls over a fully sorted vocabulary (no penalties: the prompt and output are empty of repeats).</summary>
    private static int FullSortDraw(float[] logits, SamplingSettings s, Random random)
    {
        // The weights as the sampler computes them (vectorised exp): what this checks is the selection, not the exp.
        var max = logits.Max();
        var p = logits.Select(l => (l - max) * (float)(1 / s.Temperature)).ToArray();
        System.Numerics.Tensors.TensorPrimitives.Exp(p, p);
        p = p.Select(x => x < s.MinP ? 0f : x).ToArray();
        var order = Enumerable.Range(0, p.Length).OrderByDescending(v => p[v]).ThenBy(v => v).ToArray();
        var n = s.TopK > 0 ? Math.Min(s.TopK, p.Length) : p.Length;
        double total = 0;
        for (var i = 0; i < n; i++) total += p[order[i]];
        if (s.TopP < 1)
        {
            var (limit, mass, kept) = (s.TopP * total, 0.0, 0);
            while (kept < n && mass < limit) mass += p[order[kept++]];
            n = kept;
        }
        total = 0;
        for (var i = 0; i < n; i++) total += p[order[i]];
        var target = random.NextDouble() * total;
        double cumulative = 0;
        for (var i = 0; i < n; i++)
        {
            cumulative += p[order[i]];
            if (cumulative > target) return order[i];
        }
        return order[n - 1];
    }
}
