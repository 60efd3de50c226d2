using System.Globalization;
using System.Text;
using Uld.Eval.Tofu;

namespace Uld.Eval.Reports;

/// <summary>The Markdown summary of one evaluation run: one row per deployment.</summary>
public static class RunMarkdown
{
    public static string Write(EvaluationRun run)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# TOFU evaluation: {run.Split}, {run.ForgetSet}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Forget quality = KS-test p-value of forget truth ratios against `{run.RetainDeployment ?? "(none)"}`; model utility = harmonic mean of retain, real-authors and world-facts probability, ROUGE-L recall and truth score. Greedy answers, at most {run.MaxNewTokens} tokens. Fluency = mean NLL per token of the greedy forget answers under the retain model (× the retain model's own answers; goal ≤ 1.25).");
        md.AppendLine();
        md.AppendLine("| deployment | FQ | forget ROUGE-L | forget prob | MU | retain ROUGE-L | retain prob | VerbMem | PrivLeak % | fluency NLL | s |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in run.Results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Deployment} | {Format.P(r.ForgetQuality)} | {r.Forget.RougeL:F3} | {r.Forget.Probability:F3} | {r.ModelUtility:F3} | {r.Retain.RougeL:F3} | {r.Retain.Probability:F3} | {r.VerbMem:F3} | {Format.PrivLeak(r.PrivLeak)} | {Format.Fluency(r.FluencyNll, run.FluencyRatio(r))} | {r.Seconds:F0} |");
        }
        md.AppendLine();
        md.AppendLine("## Greedy forget answers");
        foreach (var r in run.Results)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"**{r.Deployment}**");
            md.AppendLine();
            foreach (var e in r.ForgetExamples) md.AppendLine(CultureInfo.InvariantCulture, $"- {e.Question} → {Format.Quote(e.Generated)}");
        }
        return md.ToString();
    }
}

public static class Format
{
    /// <summary>p-values span many decades: fixed for large ones, scientific for small.</summary>
    public static string P(double? p) => p switch
    {
        null => "—",
        >= 0.01 => p.Value.ToString("F3", CultureInfo.InvariantCulture),
        _ => p.Value.ToString("0.0e0", CultureInfo.InvariantCulture),
    };

    public static string Fluency(double? nll, double? ratio) =>
        nll is null ? "—" : ratio is null ? nll.Value.ToString("F2", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{nll.Value:F2} (×{ratio.Value:F2})");

    /// <summary>Generated text on one Markdown line.</summary>
    public static string Quote(string text) => "“" + text.ReplaceLineEndings(" ").Trim() + "”";

    /// <summary>A forget passage's heading line: where it is, its prompt text and what truly follows.</summary>
    public static string Passage(int line, string prefix, string truth) => $"**line {line}**: {Quote(prefix)} → truth {Quote(truth)}";

    /// <summary>One deployment's continuation of a passage, as a list item.</summary>
    public static string Continuation(string deployment, string text, double rougeL) =>
        string.Create(CultureInfo.InvariantCulture, $"- {deployment}: {Quote(text)} (ROUGE-L {rougeL:F2})");

    /// <summary>MUSE's PrivLeak, in percent with one decimal as in its tables (−99.8 … +100).</summary>
    public static string PrivLeak(double? v) => v is null ? "—" : v.Value.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);
}
