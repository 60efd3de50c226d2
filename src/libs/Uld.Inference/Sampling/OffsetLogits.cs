namespace Uld.Inference.Sampling;

/// <summary>
/// The offset-unlearning (δ-unlearning) next-token distribution (docs/METHODS.md): the base's logits shifted by how
/// unlearning moved a small model, l_base + β·(l_unlearned − l_reference), normalised. β = 0 is exactly the base.
/// </summary>
public static class OffsetLogits
{
    /// <summary>Writes the log-probabilities of the distribution to sample from into <paramref name="logprobs"/>.</summary>
    public static void Combine(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> unlearnedLogits, ReadOnlySpan<float> referenceLogits, double beta,
        Span<float> logprobs)
    {
        CombineLogits(baseLogits, unlearnedLogits, referenceLogits, beta, logprobs);
        UldLogits.LogSoftmax(logprobs, logprobs);
    }

    /// <summary>The same distribution as unnormalised logits, what a request's logit adjustments act on.</summary>
    public static void CombineLogits(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> unlearnedLogits, ReadOnlySpan<float> referenceLogits, double beta,
        Span<float> logits)
    {
        if (beta == 0)
        {
            // Skipping the arithmetic makes β = 0 bit-identical to the base deployment, not merely close.
            baseLogits.CopyTo(logits);
            return;
        }
        if (unlearnedLogits.Length != baseLogits.Length || referenceLogits.Length != baseLogits.Length)
            throw new ArgumentException("base, unlearned and reference logits must cover the same vocabulary.");
        var b = (float)beta;
        for (var v = 0; v < logits.Length; v++) logits[v] = baseLogits[v] + b * (unlearnedLogits[v] - referenceLogits[v]);
    }
}
