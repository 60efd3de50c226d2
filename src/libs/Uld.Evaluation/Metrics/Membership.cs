namespace Uld.Evaluation.Metrics;

/// <summary>MUSE's membership-inference pieces: the min-k% probability score and PrivLeak (docs/METHODS.md, *Metrics*).</summary>
public static class Membership
{
    /// <summary>MUSE's PrivLeak uses Min-40%.</summary>
    public const double DefaultMinKFraction = 0.4;

    /// <summary>
    /// Min-k% probability: the mean of the lowest ⌊k·n⌋ of the n token log-probabilities (high for memorised text), as
    /// MUSE's <c>int(len(all_prob) * ratio)</c>; at least one token, where MUSE's mean would be empty; 0 for no tokens.
    /// </summary>
    public static double MinK(IReadOnlyList<double> logprobs, double fraction = DefaultMinKFraction)
    {
        if (logprobs.Count == 0) return 0;
        var k = Math.Max(1, (int)(logprobs.Count * fraction));
        return logprobs.Order().Take(k).Average();
    }

    /// <summary>
    /// MUSE's membership AUC (<c>forget_holdout_Min-40%</c>): ROC AUC of the min-k% score with the holdout (never
    /// trained on) as the positive class and the forget texts as the negative one. ≈0.5 for a model that never saw the
    /// forget set, → 0 for one that still ranks the forget texts as better known.
    /// </summary>
    public static double Auc(IReadOnlyList<double> holdoutScores, IReadOnlyList<double> forgetScores) =>
        RocAuc.Of(positives: holdoutScores, negatives: forgetScores);

    /// <summary>MUSE's PrivLeak in percent: <c>(auc − retainAuc) / retainAuc * 100</c> (muse_bench eval.py).</summary>
    public static double PrivLeak(double auc, double retainAuc) => (auc - retainAuc) / retainAuc * 100;
}
