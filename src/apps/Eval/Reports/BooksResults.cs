using Uld.Contracts;
using Uld.Eval.Corpora;

namespace Uld.Eval.Reports;

/// <summary>
/// Reads a books benchmark work directory: <c>results/test/*.json</c> and <c>results/val/*.json</c> (and
/// <c>results/val-prior/*.json</c> of bench/books-prior.sh) (uld-eval corpus
/// runs holding <c>target</c>, <c>retain</c> and <c>method~seedN</c> or <c>method~config</c> deployments; ULD's α sweep as
/// <c>uld~seed1@α</c>) and <c>selected-val.txt</c>, into a <see cref="BooksSummary"/>.
/// </summary>
public static class BooksResults
{
    public const string Target = "target";
    public const string Retain = "retain";
    /// <summary>How many forget passages the report shows side by side.</summary>
    public const int Examples = 3;

    public static BooksSummary Load(string work)
    {
        if (!Directory.Exists(work)) throw new UserErrorException($"{work} does not exist.");
        var test = Runs(work, "test");
        if (test.Count == 0) throw new UserErrorException($"no test results in {Path.Combine(work, "results", "test")} (*.json of uld-eval corpus).");
        var (target, retain) = References(test);
        var selected = Choices(work);
        var all = test.SelectMany(r => r.Run.Results).ToList();
        var rows = new List<BooksRow> { Row(Target, null, [target], target, retain), Row(Retain, null, [retain], target, retain) };
        foreach (var method in ConfigurationSelection.ByMethod(all.Where(r => !IsSweep(r)), r => r.Deployment)
                     .Where(m => m.Any(x => x.Config.StartsWith("seed", StringComparison.Ordinal))).OrderBy(m => m.Key == "uld" ? "" : m.Key, StringComparer.Ordinal))
            rows.Add(Row(method.Key, selected.GetValueOrDefault(method.Key, "?"),
                method.Where(x => x.Config.StartsWith("seed", StringComparison.Ordinal)).Select(x => x.Result).ToList(), target, retain));
        // The baseline shown beside ULD is the one that forgets most like the retain model, so the comparison is with the strongest.
        var best = rows.Skip(2).Where(r => r.Method is not ("uld" or "uld-prior") && r.ForgetVerbMem.N > 0).MinBy(r => Math.Abs(r.ForgetVerbMem.Mean - retain.Forget.VerbMem))?.Method;
        var sweep = all.Where(r => IsSweep(r) && ConfigurationSelection.Parse(r.Deployment)?.Method == "uld").OrderBy(r => r.Alpha)
            .Select(r => new SweepPoint(r.Alpha!.Value, r.Forget.VerbMem, r.Retain.VerbMem / target.Retain.VerbMem, r.FluencyRatio, r.PrivLeak)).ToList();
        // ULD with a prior (bench/books-prior.sh), where it was run, beside ULD.
        var shown = new[] { Target, Retain, "uld~seed1", "uld-prior~seed1", best + "~seed1" }.Distinct()
            .Select(d => all.FirstOrDefault(r => r.Deployment == d)).OfType<CorpusDeploymentResult>().ToList();
        var validation = Validation(work, selected);
        var settings = test[0].Run.Settings;
        return new BooksSummary(
            new CorpusNames(settings.Forget.Path, validation.Forget, settings.Retain.Path, target.Forget.Passages, target.Retain.Passages),
            rows, best, sweep, SideBySide(target, shown), validation.Rows);
    }

    /// <summary>A deployment served at an explicit α (name@α): a sweep point, not a seed.</summary>
    private static bool IsSweep(CorpusDeploymentResult r) => r.Alpha is not null && r.Deployment.Contains('@', StringComparison.Ordinal);

    private static BooksRow Row(string method, string? config, IReadOnlyList<CorpusDeploymentResult> seeds, CorpusDeploymentResult target, CorpusDeploymentResult retain)
    {
        var forget = Spread.Of(seeds, r => r.Forget.VerbMem);
        var ratio = Spread.Of(seeds, r => r.Retain.VerbMem / target.Retain.VerbMem);
        var fluency = Spread.Of(seeds, r => r.FluencyRatio);
        var privLeak = Spread.Of(seeds, r => r.PrivLeak);
        return new BooksRow(method, config, seeds.Count, forget, Spread.Of(seeds, r => r.Retain.VerbMem), ratio, privLeak,
            Spread.Of(seeds, r => r.FluencyPerplexity), fluency, Spread.Of(seeds, r => r.EmptyContinuations),
            BookBars.Judge(forget.Mean, retain.Forget.VerbMem, ratio.Mean, fluency.N > 0 ? fluency.Mean : null, privLeak.N > 0 ? privLeak.Mean : null));
    }

    private static List<SideBySide> SideBySide(CorpusDeploymentResult target, IReadOnlyList<CorpusDeploymentResult> shown) =>
        target.ForgetExamples.Take(Examples).Select(e => new SideBySide(e.Line, e.Prefix, e.Truth, shown
            .Select(d => d.ForgetExamples.FirstOrDefault(x => x.Line == e.Line) is { } x ? new Written(d.Deployment, x.Continuation, x.RougeL) : null)
            .OfType<Written>().ToList())).ToList();

    private static (string? Forget, List<ValidationRow> Rows) Validation(string work, IReadOnlyDictionary<string, string> selected)
    {
        // val-prior: bench/books-prior.sh's β sweep, kept apart from the configurations bench/books.sh selects among.
        var runs = Runs(work, "val").Concat(Runs(work, "val-prior")).ToList();
        if (runs.Count == 0) return (null, []);
        var (target, retain) = References(runs);
        var rows = CorpusSelection.Candidates(runs.SelectMany(r => r.Run.Results), target, retain)
            .OrderBy(c => c.Method == "uld" ? "" : c.Method, StringComparer.Ordinal).ThenBy(c => c.Config, StringComparer.Ordinal)
            .Select(c => new ValidationRow(c, selected.GetValueOrDefault(c.Method) == c.Config)).ToList();
        return (runs[0].Run.Settings.Forget.Path, rows);
    }

    /// <summary>selected-val.txt's choices, and bench/books-prior.sh's β (selected-prior.txt) where it ran.</summary>
    private static IReadOnlyDictionary<string, string> Choices(string work)
    {
        var choices = new Dictionary<string, string>(ConfigurationSelection.ReadChoices(Path.Combine(work, "selected-val.txt")), StringComparer.Ordinal);
        var prior = Path.Combine(work, "selected-prior.txt");
        if (File.Exists(prior))
        {
            foreach (var (method, config) in ConfigurationSelection.ReadChoices(prior)) choices.TryAdd(method, config);
        }
        return choices;
    }

    private static List<(string Path, CorpusRun Run)> Runs(string work, string set)
    {
        var dir = Path.Combine(work, "results", set);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal).Select(f => (f, CorpusRun.Load(f))).ToList() : [];
    }

    /// <summary>The target and retain model results of a set: every file holds them, the first one that does is used.</summary>
    private static (CorpusDeploymentResult Target, CorpusDeploymentResult Retain) References(IReadOnlyList<(string Path, CorpusRun Run)> runs)
    {
        CorpusDeploymentResult Find(string name) => runs.SelectMany(r => r.Run.Results).FirstOrDefault(r => r.Deployment == name)
            ?? throw new UserErrorException($"no '{name}' deployment in {string.Join(", ", runs.Select(r => r.Path))}.");
        return (Find(Target), Find(Retain));
    }
}
