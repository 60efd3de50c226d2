using System.Text.RegularExpressions;

namespace Uld.Evaluation.Metrics;

/// <summary>
/// ROUGE-L recall as TOFU computes it (Google's rouge_score, no stemming): lowercase, non-alphanumerics become
/// spaces, whitespace tokens; recall = LCS(reference, candidate) / |reference|.
/// </summary>
public static partial class RougeL
{
    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlphanumeric();

    public static IReadOnlyList<string> Tokenize(string text) =>
        NonAlphanumeric().Replace(text.ToLowerInvariant(), " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static double Recall(string reference, string candidate)
    {
        var r = Tokenize(reference);
        if (r.Count == 0) return 0;
        return (double)LongestCommonSubsequence(r, Tokenize(candidate)) / r.Count;
    }

    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
