namespace Uld.Eval.Reports;

/// <summary>
/// The four bars of the books benchmark (docs/METHODS.md, *Books benchmark*): forget like the retain model, keep the
/// retain text, stay fluent, leak no membership. Selection uses the second and third as its floors.
/// </summary>
public static class BookBars
{
    /// <summary>Forget VerbMem at most this far from the retain model's (which never saw the forget text).</summary>
    public const double ForgetTolerance = 0.05;
    /// <summary>Retain VerbMem at least this fraction of the target's.</summary>
    public const double RetainFloor = 0.9;
    /// <summary>Fluency perplexity at most this multiple of the retain model's.</summary>
    public const double FluencyCeiling = 1.25;
    /// <summary>|PrivLeak| at most this many percent.</summary>
    public const double PrivLeakBound = 15;

    // Results are computed from sums of per-passage scores: a value the report prints as exactly on a bar meets it.
    private const double Slack = 1e-9;

    /// <summary>The four verdicts; null where the metric was not measured (no judge, no holdout).</summary>
    public sealed record Verdicts(bool Forget, bool Retain, bool? Fluency, bool? PrivLeak);

    public static bool ForgetsLikeRetain(double forgetVerbMem, double retainModelForgetVerbMem) =>
        Math.Abs(forgetVerbMem - retainModelForgetVerbMem) <= ForgetTolerance + Slack;

    public static bool KeepsRetain(double retainRatio) => retainRatio >= RetainFloor - Slack;

    public static bool? Fluent(double? fluencyRatio) => fluencyRatio is { } r ? r <= FluencyCeiling + Slack : null;

    public static bool? NoLeak(double? privLeak) => privLeak is { } p ? Math.Abs(p) <= PrivLeakBound + Slack : null;

    public static Verdicts Judge(double forgetVerbMem, double retainModelForgetVerbMem, double retainRatio, double? fluencyRatio, double? privLeak) =>
        new(ForgetsLikeRetain(forgetVerbMem, retainModelForgetVerbMem), KeepsRetain(retainRatio), Fluent(fluencyRatio), NoLeak(privLeak));
}
