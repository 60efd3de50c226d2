namespace Uld.Evaluation.Metrics;

/// <summary>A scored answer: the sum of its tokens' log-probabilities given the question, and its token count.</summary>
public readonly record struct AnswerScore(double LogProbability, int Tokens)
{
    /// <summary>Mean token log-probability log P(a|q) / |a|, i.e. minus TOFU's per-token loss; −∞ for an empty answer.</summary>
    public double MeanLogProbability => Tokens == 0 ? double.NegativeInfinity : LogProbability / Tokens;

    /// <summary>Length-normalised probability P(a|q)^(1/|a|), TOFU's answer probability.</summary>
    public double NormalizedProbability => Math.Exp(MeanLogProbability);
}

/// <summary>TOFU's per-question statistics built from answer scores (docs/METHODS.md, *Metrics*).</summary>
public static class TofuStatistics
{
    /// <summary>
    /// Truth ratio R = exp(L(ã) − mean_j L(â_j)), L the mean per-token loss (−<see cref="AnswerScore.MeanLogProbability"/>),
    /// ã the paraphrased true answer, â_j the perturbed (wrong) ones. This is the reciprocal of locuslab/tofu's
    /// <c>exp(average_perturb_loss.mean(-1) − avg_paraphrased_loss)</c>: the losses are averaged, so the perturbed answers
    /// enter through the geometric mean of their length-normalised probabilities, R = (Π_j P(â_j|q)^(1/|â_j|))^(1/n) /
    /// P(ã|q)^(1/|ã|) — not their arithmetic mean. R near 1: the model cannot tell them apart; R → 0: it prefers the truth.
    /// A paraphrase of probability 0 gives +∞.
    /// </summary>
    public static double TruthRatio(AnswerScore paraphrased, IReadOnlyList<AnswerScore> perturbed)
    {
        if (perturbed.Count == 0) throw new ArgumentException("a truth ratio needs at least one perturbed answer.");
        var paraphrasedLogProbability = paraphrased.MeanLogProbability;
        if (double.IsNegativeInfinity(paraphrasedLogProbability)) return double.PositiveInfinity;
        return Math.Exp(perturbed.Average(p => p.MeanLogProbability) - paraphrasedLogProbability);
    }

    /// <summary>
    /// Truth score of a retain-side set (retain, real authors, world facts): max(0, 1 − R), averaged by the caller —
    /// TOFU's <c>np.maximum(0, 1 - 1/curr_stat_1)</c> with curr_stat_1 = 1/R.
    /// </summary>
    public static double TruthScore(double truthRatio) => Math.Max(0, 1 - truthRatio);

    /// <summary>
    /// Probability of the true answer among the options (real authors, world facts): its normalised probability divided
    /// by the sum over the true and the perturbed answers (TOFU's <c>avg_true_prob / avg_all_prob</c>).
    /// </summary>
    public static double OptionProbability(AnswerScore truth, IReadOnlyList<AnswerScore> perturbed)
    {
        var t = truth.NormalizedProbability;
        var sum = t + perturbed.Sum(p => p.NormalizedProbability);
        return sum == 0 ? 0 : t / sum;
    }
}
