namespace Uld.Evaluation.Metrics;

/// <summary>Statistics of scored texts given as their tokens' log-probabilities.</summary>
public static class TokenLogprobs
{
    /// <summary>
    /// Mean negative log-likelihood per token over all texts together, Σ −log p / Σ tokens (long texts weigh more, as
    /// a perplexity over a corpus does); null when there is no token at all.
    /// </summary>
    public static double? MeanNll(IReadOnlyCollection<IReadOnlyList<double>> texts)
    {
        var tokens = texts.Sum(l => l.Count);
        return tokens == 0 ? null : -texts.Sum(l => l.Sum()) / tokens;
    }

    /// <summary>Perplexity exp(<see cref="MeanNll"/>); null when there is no token.</summary>
    public static double? Perplexity(IReadOnlyCollection<IReadOnlyList<double>> texts) => MeanNll(texts) is { } nll ? Math.Exp(nll) : null;
}
