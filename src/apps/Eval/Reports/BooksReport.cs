using System.Globalization;
using System.Text;

namespace Uld.Eval.Reports;

/// <summary>
/// bench/results/books.md from a <see cref="BooksSummary"/>: the test table with the four bars, ULD's α sweep (table and
/// plot), continuations side by side and the validation table the configurations were chosen on.
/// </summary>
public static class BooksReport
{
    public static string Write(BooksSummary s, string plotFile)
    {
        var md = new StringBuilder();
        md.AppendLine("# Books: ULD vs gradient-based unlearning of a copyrighted text, held-out protocol").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by `bench/books.sh` and `uld-eval report --books`. Forget text: `{s.Corpora.TestForget}` ({s.Corpora.ForgetPassages} passages); retain text: `{s.Corpora.Retain}` ({s.Corpora.RetainPassages} passages).");
        md.AppendLine("Protocol ([docs/METHODS.md](../../docs/METHODS.md#books-benchmark)): every method's configurations unlearn the *validation* forget text; one rule chooses each method's configuration there; only that configuration unlearns the *test* forget text, once per seed, and only test numbers are results.");
        md.AppendLine("VerbMem = stemmed ROUGE-L recall of the greedy continuation of a passage's first tokens against the true ones; PrivLeak = min-k% AUC (holdout vs forget) against the retain model's, in percent (MUSE); fluency = perplexity of the forget continuations under the judge; empty = forget continuations that ended at once. The retain model never saw the forget text: forgetting means scoring like it.").AppendLine();
        TestTable(md, s);
        Sweep(md, s, plotFile);
        Examples(md, s);
        Validation(md, s);
        return md.ToString();
    }

    /// <summary>ULD seed 1's forget and retain VerbMem against α, with the retain model's forget VerbMem and the retain floor.</summary>
    public static void Plot(BooksSummary s, string path)
    {
        var retain = s.Test.First(r => r.Method == BooksResults.Retain);
        AlphaPlot.Save("ULD on the book: VerbMem vs α (seed 1's assistant, α per request)", "forget VerbMem / retain VerbMem × target",
            [new("forget VerbMem", 0, s.Sweep.Select(p => (p.Alpha, p.ForgetVerbMem)).ToList(), Dashed: false),
             new("retain VerbMem / target's", 0, s.Sweep.Select(p => (p.Alpha, p.RetainRatio)).ToList(), Dashed: true)],
            [new("retain model's forget VerbMem", retain.ForgetVerbMem.Mean, Dashed: false), new($"retain floor {BookBars.RetainFloor}×", BookBars.RetainFloor, Dashed: true)], path,
            ScottPlot.Alignment.MiddleRight);
    }

    private static void TestTable(StringBuilder md, BooksSummary s)
    {
        var methods = s.Test.Where(r => r.Config is not null).ToList();
        var seeds = methods.Select(r => r.Seeds).Distinct().ToList();
        md.AppendLine(seeds.Count == 0 ? "No method has a test result yet."
            : seeds is [var n] && n > 1 ? $"Mean ± sample sd over {n} seeds; the target and the retain model are one run each."
            : "Mean ± sample sd over each method's seeds (`seeds`); the target and the retain model are one run each.");
        var single = methods.Where(r => r.Seeds == 1).Select(r => MethodLabels.Of(r.Method)).ToList();
        if (single.Count > 0) md.AppendLine($"One seed only, no spread measured — not yet a result: {string.Join(", ", single)}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Bars (on the means): forget VerbMem within {BookBars.ForgetTolerance} of the retain model's; retain VerbMem ≥ {BookBars.RetainFloor}× the target's; fluency ≤ {BookBars.FluencyCeiling}× the retain model's; |PrivLeak| ≤ {BookBars.PrivLeakBound} %. — = not measured.").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| method | configuration | seeds | forget VerbMem | retain VerbMem | × target | PrivLeak % | fluency PPL | × retain | empty | forget ±{BookBars.ForgetTolerance} of retain model | retain ≥ {BookBars.RetainFloor}× | fluency ≤ {BookBars.FluencyCeiling}× | \\|PrivLeak\\| ≤ {BookBars.PrivLeakBound} |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in s.Test)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {Name(r.Method)} | {r.Config ?? "—"} | {r.Seeds} | {r.ForgetVerbMem.Show(F3)} | {r.RetainVerbMem.Show(F3)} | {r.RetainRatio.Show(F3)} | {r.PrivLeak.Show(x => Format.PrivLeak(x), F1)} | {r.FluencyPpl.Show(F2)} | {r.FluencyRatio.Show(F2)} | {r.EmptyContinuations.Show(F1)} | {Mark(r.Bars.Forget)} | {Mark(r.Bars.Retain)} | {Mark(r.Bars.Fluency)} | {Mark(r.Bars.PrivLeak)} |");
    }

    private static void Sweep(StringBuilder md, BooksSummary s, string plotFile)
    {
        if (s.Sweep.Count == 0) return;
        md.AppendLine().AppendLine("## ULD's α (seed 1's assistant at fixed α)").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![VerbMem vs α]({plotFile})").AppendLine();
        md.AppendLine("| α | forget VerbMem | retain VerbMem × target | fluency × retain | PrivLeak % |").AppendLine("|---|---|---|---|---|");
        foreach (var p in s.Sweep)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Alpha} | {p.ForgetVerbMem:F3} | {p.RetainRatio:F3} | {(p.FluencyRatio is { } f ? F2(f) : "—")} | {Format.PrivLeak(p.PrivLeak)} |");
    }

    private static void Examples(StringBuilder md, BooksSummary s)
    {
        if (s.Examples.Count == 0) return;
        md.AppendLine().AppendLine("## Continuations side by side").AppendLine();
        md.AppendLine(s.BestBaseline is { } best
            ? $"Forget passages of the test text: the target, the retain model, ULD (seed 1) and {MethodLabels.Of(best)} (seed 1), the baseline whose forget VerbMem is nearest the retain model's."
            : "Forget passages of the test text: the target, the retain model and ULD (seed 1).");
        foreach (var passage in s.Examples)
        {
            md.AppendLine().AppendLine(Format.Passage(passage.Line, passage.Prefix, passage.Truth)).AppendLine();
            foreach (var w in passage.Continuations) md.AppendLine(Format.Continuation(w.Deployment, w.Continuation, w.RougeL));
        }
    }

    private static void Validation(StringBuilder md, BooksSummary s)
    {
        md.AppendLine().AppendLine($"## Validation{(s.Corpora.ValidationForget is { } v ? $": {v}" : "")} (where the configurations were chosen)").AppendLine();
        if (s.Validation.Count == 0) { md.AppendLine("Not run."); return; }
        md.AppendLine(CultureInfo.InvariantCulture, $"Rule: among configurations with retain VerbMem ≥ {BookBars.RetainFloor}× the target's and fluency ≤ {BookBars.FluencyCeiling}× the retain model's (when measured), the forget VerbMem nearest the retain model's, ties by the smaller |PrivLeak|; if none meets both floors, the highest retain VerbMem.").AppendLine();
        md.AppendLine("| method | configuration | forget VerbMem | \\|Δ\\| to retain model | retain VerbMem × target | fluency × retain | PrivLeak % | floors | chosen |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (c, chosen) in s.Validation)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {MethodLabels.Of(c.Method)} | {c.Config} | {c.ForgetVerbMem:F3} | {c.ForgetGap:F3} | {c.RetainRatio:F3} | {(c.FluencyRatio is { } f ? F2(f) : "—")} | {Format.PrivLeak(c.PrivLeak)} | {Mark(c.MeetsFloors)} | {(chosen ? "✓" : "")} |");
    }

    private static string Name(string method) => method switch { BooksResults.Target => "Target", BooksResults.Retain => "Retain model", _ => MethodLabels.Of(method) };
    private static string Mark(bool? met) => met switch { true => "✓", false => "✗", null => "—" };
    private static string F1(double x) => x.ToString("F1", CultureInfo.InvariantCulture);
    private static string F2(double x) => x.ToString("F2", CultureInfo.InvariantCulture);
    private static string F3(double x) => x.ToString("F3", CultureInfo.InvariantCulture);
}
