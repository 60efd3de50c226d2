using System.Globalization;
using System.Text;
using Uld.Eval.Corpora;

namespace Uld.Eval.Reports;

/// <summary>The Markdown summary of one corpus run: one row per deployment, then example forget continuations side by side.</summary>
public static class CorpusMarkdown
{
    public static string Write(CorpusRun run)
    {
        var s = run.Settings;
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Corpus evaluation: {s.Forget.Path} (forget), {s.Retain.Path} (retain){(s.Holdout is { } h ? $", {h.Path} (holdout)" : "")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"VerbMem = stemmed ROUGE-L recall of the greedy continuation ({s.ContinuationTokens} tokens) of each passage's first {s.PrefixTokens} tokens against its next ones; KnowMem = the same score of greedy answers to the questions. PrivLeak = min-{s.MinKFraction * 100:0}% AUC (holdout vs forget) against `{s.RetainDeployment ?? "(no retain model)"}`, in percent. Fluency = perplexity of the forget continuations under `{s.Judge ?? "(no judge)"}` (× the retain model's); `tokens` = mean continuation length, `empty` = continuations that ended at once.");
        md.AppendLine();
        md.AppendLine("| deployment | VerbMem forget | VerbMem retain | KnowMem forget | KnowMem retain | PrivLeak % | fluency PPL | tokens | empty | skipped (forget + retain) | s |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in run.Results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Deployment} | {r.Forget.VerbMem:F3} | {r.Retain.VerbMem:F3} | {Score(r.Forget.KnowMem)} | {Score(r.Retain.KnowMem)} | {Format.PrivLeak(r.PrivLeak)} | {Perplexity(r)} | {r.ContinuationTokensMean:F1} | {r.EmptyContinuations}/{r.Forget.Passages} | {r.Forget.Skipped} + {r.Retain.Skipped} | {r.Seconds:F0} |");
        }
        md.AppendLine();
        md.AppendLine("## Forget continuations");
        foreach (var line in run.Results.FirstOrDefault()?.ForgetExamples.Select(e => e.Line) ?? [])
        {
            var first = run.Results.SelectMany(r => r.ForgetExamples).First(e => e.Line == line);
            md.AppendLine();
            md.AppendLine(Format.Passage(line, first.Prefix, first.Truth));
            md.AppendLine();
            foreach (var r in run.Results)
                if (r.ForgetExamples.FirstOrDefault(e => e.Line == line) is { } e)
                    md.AppendLine(Format.Continuation(r.Deployment, e.Continuation, e.RougeL));
        }
        return md.ToString();
    }

    private static string Score(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";

    private static string Perplexity(CorpusDeploymentResult r) => r.FluencyPerplexity is not { } ppl ? "—"
        : r.FluencyRatio is { } ratio ? string.Create(CultureInfo.InvariantCulture, $"{ppl:F2} (×{ratio:F2})") : ppl.ToString("F2", CultureInfo.InvariantCulture);
}
