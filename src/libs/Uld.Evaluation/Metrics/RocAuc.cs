namespace Uld.Evaluation.Metrics;

/// <summary>Area under the ROC curve of a score whose higher values predict the positive class.</summary>
public static class RocAuc
{
    /// <summary>
    /// P(positive score &gt; negative score) over every pair, ties counting half — what sklearn's
    /// <c>auc(roc_curve(y, score))</c> gives; 0.5 = the score cannot tell the classes apart.
    /// </summary>
    public static double Of(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        if (positives.Count == 0 || negatives.Count == 0) throw new ArgumentException("an AUC needs positives and negatives.");
        var wins = 0.0;
        foreach (var p in positives)
            foreach (var n in negatives)
                wins += p > n ? 1 : p == n ? 0.5 : 0;
        return wins / (positives.Count * (double)negatives.Count);
    }
}
