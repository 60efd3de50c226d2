using System.Text.RegularExpressions;

namespace Uld.Evaluation.Metrics;

/// <summary>ROUGE-L of one candidate against one reference: LCS / |candidate|, LCS / |reference| and their F1.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double F1);

/// <summary>
/// ROUGE-L as Google's <c>rouge_score</c> computes it. Tokens: lowercase, every run of characters outside
/// <c>[a-z0-9]</c> becomes a space, split on whitespace, and (with stemming) tokens longer than 3 characters go through
/// NLTK's Porter stemmer (<see cref="PorterStemmer"/>). Recall = LCS(reference, candidate) / |reference|.
/// TOFU scores with <c>RougeScorer(['rouge1', 'rougeL'], use_stemmer=True)</c> and reports the recall, so
/// <see cref="Recall"/> stems by default; MUSE's VerbMem/KnowMem use <c>use_stemmer=False</c> and the F1.
/// </summary>
public static partial class RougeL
{
    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlphanumeric();

    public static IReadOnlyList<string> Tokenize(string text, bool stem = true)
    {
        var tokens = NonAlphanumeric().Replace(text.ToLowerInvariant(), " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (stem)
            for (var i = 0; i < tokens.Length; i++)
                if (tokens[i].Length > 3) tokens[i] = PorterStemmer.Stem(tokens[i]);
        return tokens;
    }

    /// <summary>TOFU's ROUGE-L recall (stemmed unless <paramref name="stem"/> is false).</summary>
    public static double Recall(string reference, string candidate, bool stem = true) => Score(reference, candidate, stem).Recall;

    /// <summary>rouge_score's <c>Score</c> for rougeL; all zero when either text has no tokens.</summary>
    public static RougeScore Score(string reference, string candidate, bool stem = true)
    {
        var r = Tokenize(reference, stem);
        var c = Tokenize(candidate, stem);
        if (r.Count == 0 || c.Count == 0) return new RougeScore(0, 0, 0);
        var lcs = LongestCommonSubsequence(r, c);
        double precision = (double)lcs / c.Count, recall = (double)lcs / r.Count;
        return new RougeScore(precision, recall, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0);
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
