namespace Uld.Evaluation.Metrics;

/// <summary>A scored answer: the sum of its tokens' log-probabilities given the question, and its token count.</summary>
public readonly record struct AnswerScore(double LogProbability, int Tokens)
{
    /// <summary>Length-normalised probability P(a|q)^(1/|a|), TOFU's answer probability.</summary>
    public double NormalizedProbability => Tokens == 0 ? 0 : Math.Exp(LogProbability / Tokens);
}

/// <summary>TOFU's per-question statistics built from answer scores (docs/METHODS.md, *Metrics*).</summary>
public static class TofuStatistics
{
    /// <summary>
    /// Truth ratio R = mean_j P(â_j|q)^(1/|â_j|) / P(ã|q)^(1/|ã|): perturbed (wrong) answers against the paraphrased
    /// true one. R near 1 means the model cannot tell them apart; R → 0 means it prefers the truth.
    /// </summary>
    public static double TruthRatio(AnswerScore paraphrased, IReadOnlyList<AnswerScore> perturbed)
    {
        if (perturbed.Count == 0) throw new ArgumentException("a truth ratio needs at least one perturbed answer.");
        var denominator = paraphrased.NormalizedProbability;
        var numerator = perturbed.Average(p => p.NormalizedProbability);
        return denominator == 0 ? double.PositiveInfinity : numerator / denominator;
    }

    /// <summary>Truth score of a retain-side set: max(0, 1 − R), averaged by the caller.</summary>
    public static double TruthScore(double truthRatio) => Math.Max(0, 1 - truthRatio);

    /// <summary>
    /// Probability of the true answer among the options (real authors, world facts): its normalised probability divided
    /// by the sum over the true and the perturbed answers.
    /// </summary>
    public static double OptionProbability(AnswerScore truth, IReadOnlyList<AnswerScore> perturbed)
    {
        var t = truth.NormalizedProbability;
        var sum = t + perturbed.Sum(p => p.NormalizedProbability);
        return sum == 0 ? 0 : t / sum;
    }
}
