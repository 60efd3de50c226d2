using System.Text;
using static Uld.Bench.ForgetRequests.ForgetRequestsBenchmark;

namespace Uld.Bench.ForgetRequests;

/// <summary>bench/results/forget-requests.md: cost per added request, serving cost, and forgetting per request.</summary>
public static class ForgetRequestsReport
{
    private const double Gib = 1L << 30;

    public static string Markdown(ForgetRequestsOptions o, IReadOnlyList<StageResult> stages, double? unseenKnowMem)
    {
        var md = new StringBuilder();
        md.AppendLine("# Forget requests: one assistant per request (summed) vs one assistant retrained on their union");
        md.AppendLine();
        md.AppendLine($"Regenerate: `uld-bench forget-requests --base {Path.GetFileName(o.BaseDir)} --requests {string.Join(' ', o.RequestAuthors)}" +
            (o.TrainArguments.Count > 0 ? $" --train-arg \"{string.Join(' ', o.TrainArguments)}\"" : "") + (o.CostOnly ? " --cost-only" : "") + "`.");
        md.AppendLine($"Requests arrive one after another, one TOFU author each (authors {string.Join(", ", o.RequestAuthors)}); every assistant trains with " +
            $"retain authors {Ranges(o.RetainTrainAuthors)} and is calibrated against unseen authors {Ranges(o.HoldoutAuthors)}; retain utility is KnowMem on " +
            $"authors {Ranges(o.RetainEvalAuthors)}, which no assistant trains on. Each added request costs one `uld-trainer unlearn` process (summed: on that " +
            "request alone; union: on all requests so far); serving decodes one stream beside the plain base in the same server.");
        md.AppendLine();
        md.AppendLine("## Cost of adding request k");
        md.AppendLine();
        md.AppendLine("| combination | k | examples trained | steps | train s | process s | trainer peak RSS GiB | assistants served | decode tok/s | × base | server peak RSS GiB |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in stages)
        {
            md.AppendLine($"| {s.Combination} | {s.K} | {s.TrainedExamples} | {s.Steps} | {F(s.TrainSeconds, "0.0")} | {F(s.ProcessSeconds, "0.0")} | " +
                $"{F(s.TrainerPeakBytes / Gib, "0.00")} | {s.ServedAssistants} | {F(s.DecodeTokensPerSecond, "0.0")} | " +
                $"{F(s.DecodeTokensPerSecond / s.TargetDecodeTokensPerSecond, "0.00")} | {F(s.ServerPeakBytes / Gib, "0.00")} |");
        }
        if (o.CostOnly) return md.ToString();
        md.AppendLine();
        md.AppendLine("## Forgetting of every request so far, and utility");
        md.AppendLine();
        md.AppendLine($"KnowMem = mean stemmed ROUGE-L recall of greedy answers (`uld-eval corpus`). The base answers authors it never saw at KnowMem **{F(unseenKnowMem)}** " +
            "(the level a forgotten request should fall to); MIA AUC is min-k% membership of the request's answers against those unseen authors (0.5 = indistinguishable).");
        md.AppendLine();
        md.AppendLine("| combination | after request k | request (author) | KnowMem | base's | MIA AUC | retain KnowMem | × base |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var s in stages)
        {
            foreach (var r in s.Forgetting)
            {
                md.AppendLine($"| {s.Combination} | {s.K} | {r.Request} ({r.Author}) | {F(r.KnowMem)} | {F(r.TargetKnowMem)} | {F(r.MiaAuc)} | " +
                    $"{F(s.RetainKnowMem)} | {F(s.RetainKnowMem / s.TargetRetainKnowMem, "0.00")} |");
            }
        }
        return md.ToString();
    }

    private static string Ranges(IReadOnlyList<int> authors) => authors.Count == 0 ? "none" :
        authors.Count > 2 && authors[^1] - authors[0] == authors.Count - 1 ? $"{authors[0]}–{authors[^1]}" : string.Join(", ", authors);
}
