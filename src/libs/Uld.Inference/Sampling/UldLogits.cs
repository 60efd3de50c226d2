using System.Numerics.Tensors;

namespace Uld.Inference.Sampling;

/// <summary>
/// The ULD next-token distribution (docs/DESIGN.md, *The ULD decode rule*): take the base model's log-softmax, keep tokens with
/// p_base ≥ r · max p_base (the relative-top filter), give kept tokens the base's logit less the assistant's penalty
/// (<see cref="UldRule"/>), mask the rest, and normalise. With no assistant or α = 0 this is exactly the base
/// distribution — "no unlearning".
/// </summary>
public static class UldLogits
{
    /// <summary>Writes the log-probabilities of the distribution to sample from into <paramref name="logprobs"/>.</summary>
    public static void Combine(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> assistantLogits, double alpha, double relativeTop,
        Span<float> logprobs, UldRule rule = UldRule.Difference)
    {
        CombineLogits(baseLogits, assistantLogits, alpha, relativeTop, logprobs, rule);
        LogSoftmax(logprobs, logprobs);
    }

    /// <summary>
    /// The same distribution as unnormalised logits (masked tokens −∞): what a request's logit adjustments act on, since
    /// vLLM's repetition penalty depends on a logit's sign and so cannot be applied to log-probabilities.
    /// </summary>
    public static void CombineLogits(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> assistantLogits, double alpha, double relativeTop,
        Span<float> logits, UldRule rule = UldRule.Difference)
    {
        if (assistantLogits.IsEmpty || alpha == 0)
        {
            baseLogits.CopyTo(logits);
            return;
        }
        if (assistantLogits.Length != baseLogits.Length)
            throw new ArgumentException("base and assistant logits must cover the same vocabulary.");

        LogSoftmax(baseLogits, logits);
        var threshold = RelativeTopThreshold(logits, relativeTop);
        var a = (float)alpha;
        if (rule == UldRule.Difference)
        {
            for (var v = 0; v < logits.Length; v++)
                logits[v] = logits[v] >= threshold ? baseLogits[v] - a * assistantLogits[v] : float.NegativeInfinity;
        }
        else
        {
            // log p_assistant(v) + log V = l_assistant(v) − (logsumexp(l_assistant) − log V): above 0 where the
            // assistant finds v more likely than uniform.
            var uniformLevel = LogSumExp(assistantLogits) - MathF.Log(assistantLogits.Length);
            for (var v = 0; v < logits.Length; v++)
                logits[v] = logits[v] >= threshold ? logits[v] - a * MathF.Max(0, assistantLogits[v] - uniformLevel) : float.NegativeInfinity;
        }
    }

    /// <summary>
    /// Several assistants, step 1 of 2: adds <paramref name="weight"/> times this assistant's penalty under
    /// <paramref name="rule"/> to <paramref name="penalty"/> — l_assistant(v) for <see cref="UldRule.Difference"/>,
    /// max(0, log p_assistant(v) + log V) for <see cref="UldRule.SuppressOnly"/> — so that the sum over the assistants
    /// is Σᵢ wᵢ·penaltyᵢ (docs/DESIGN.md, *The ULD decode rule*).
    /// </summary>
    public static void AddPenalty(ReadOnlySpan<float> assistantLogits, float weight, UldRule rule, Span<float> penalty)
    {
        if (assistantLogits.Length != penalty.Length) throw new ArgumentException("every assistant's logits must cover the same vocabulary.");
        if (rule == UldRule.Difference)
        {
            for (var v = 0; v < penalty.Length; v++) penalty[v] += weight * assistantLogits[v];
            return;
        }
        var uniformLevel = LogSumExp(assistantLogits) - MathF.Log(assistantLogits.Length);
        for (var v = 0; v < penalty.Length; v++) penalty[v] += weight * MathF.Max(0, assistantLogits[v] - uniformLevel);
    }

    /// <summary>
    /// Several assistants, step 2 of 2: the distribution of <see cref="CombineLogits"/> with the summed
    /// <paramref name="penalty"/> (<see cref="AddPenalty"/>) in place of one assistant's — kept tokens get
    /// l_base − α·penalty (<see cref="UldRule.Difference"/>) or log p_base − α·penalty (<see cref="UldRule.SuppressOnly"/>).
    /// One assistant at weight 1 gives exactly <see cref="CombineLogits"/>.
    /// </summary>
    public static void CombinePenalizedLogits(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> penalty, double alpha, double relativeTop,
        Span<float> logits, UldRule rule = UldRule.Difference)
    {
        if (alpha == 0)
        {
            baseLogits.CopyTo(logits);
            return;
        }
        if (penalty.Length != baseLogits.Length) throw new ArgumentException("base logits and the penalty must cover the same vocabulary.");
        LogSoftmax(baseLogits, logits);
        var threshold = RelativeTopThreshold(logits, relativeTop);
        var a = (float)alpha;
        for (var v = 0; v < logits.Length; v++)
        {
            var from = rule == UldRule.Difference ? baseLogits[v] : logits[v];
            logits[v] = logits[v] >= threshold ? from - a * penalty[v] : float.NegativeInfinity;
        }
    }

    /// <summary>
    /// The same distribution from a fused ULD graph, which already computed <paramref name="uldLogits"/> =
    /// l_base − α·l_assistant with the row's α; <see cref="UldRule.SuppressOnly"/> recovers l_assistant from it.
    /// </summary>
    public static void CombineFused(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> uldLogits, double alpha, double relativeTop,
        Span<float> logprobs, UldRule rule = UldRule.Difference)
    {
        CombineFusedLogits(baseLogits, uldLogits, alpha, relativeTop, logprobs, rule);
        LogSoftmax(logprobs, logprobs);
    }

    /// <summary><see cref="CombineFused"/> as unnormalised logits, like <see cref="CombineLogits"/>.</summary>
    public static void CombineFusedLogits(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> uldLogits, double alpha, double relativeTop,
        Span<float> logits, UldRule rule = UldRule.Difference)
    {
        if (uldLogits.IsEmpty || alpha == 0)
        {
            baseLogits.CopyTo(logits);
            return;
        }
        if (uldLogits.Length != baseLogits.Length)
            throw new ArgumentException("base and ULD logits must cover the same vocabulary.");
        if (rule == UldRule.Difference)
        {
            LogSoftmax(baseLogits, logits);
            var threshold = RelativeTopThreshold(logits, relativeTop);
            for (var v = 0; v < logits.Length; v++)
                logits[v] = logits[v] >= threshold ? uldLogits[v] : float.NegativeInfinity;
            return;
        }
        // One vocabulary-sized buffer per row and step: pooled, since large vocabularies make it half a megabyte.
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(baseLogits.Length);
        try
        {
            var assistantLogits = rented.AsSpan(0, baseLogits.Length);
            var a = (float)alpha;
            for (var v = 0; v < assistantLogits.Length; v++) assistantLogits[v] = (baseLogits[v] - uldLogits[v]) / a;
            CombineLogits(baseLogits, assistantLogits, alpha, relativeTop, logits, rule);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(rented);
        }
    }

    private static float LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = TensorPrimitives.Max(logits);
        if (float.IsNegativeInfinity(max)) return max;
        // Vectorised: at 128K tokens a scalar exp per token is most of the rule's cost.
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(logits.Length);
        try
        {
            var exps = rented.AsSpan(0, logits.Length);
            TensorPrimitives.Subtract(logits, max, exps);
            TensorPrimitives.Exp(exps, exps);
            return max + MathF.Log(TensorPrimitives.Sum(exps));
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>The smallest base log-probability the relative-top filter keeps.</summary>
    private static float RelativeTopThreshold(ReadOnlySpan<float> baseLogprobs, double relativeTop)
    {
        var maxLogprob = TensorPrimitives.Max(baseLogprobs);
        // p ≥ r·p_max  ⇔  log p ≥ log r + log p_max; r = 0 keeps every token.
        return relativeTop > 0 ? maxLogprob + (float)Math.Log(relativeTop) : float.NegativeInfinity;
    }

    /// <summary>Numerically stable log-softmax; <paramref name="output"/> may alias <paramref name="logits"/>.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> output)
    {
        TensorPrimitives.Subtract(logits, LogSumExp(logits), output);
    }

    /// <summary>
    /// The <paramref name="k"/> most likely tokens, most likely first (ties: lower id first). Tokens the filter
    /// masked out (probability 0) are never listed, so fewer than k can come back.
    /// </summary>
    public static (int Token, float Logprob)[] Top(ReadOnlySpan<float> logprobs, int k)
    {
        if (k <= 0) return [];
        var best = new List<(int Token, float Logprob)>(k + 1);
        for (var v = 0; v < logprobs.Length; v++)
        {
            var lp = logprobs[v];
            if (float.IsNegativeInfinity(lp)) continue;
            if (best.Count == k && lp <= best[^1].Logprob) continue;
            var at = best.FindIndex(b => lp > b.Logprob);
            best.Insert(at < 0 ? best.Count : at, (v, lp));
            if (best.Count > k) best.RemoveAt(k);
        }
        return [.. best];
    }
}
