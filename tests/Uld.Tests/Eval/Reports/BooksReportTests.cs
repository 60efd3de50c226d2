using System.Text.Json.Nodes;
using Uld.Cli;
using Uld.Eval.Cli;
using Uld.Eval.Corpora;
using Uld.Tests.Support;

namespace Uld.Tests.Eval.Reports;

/// <summary>
/// The books benchmark's selection (<c>uld-eval select --corpus</c>) and report (<c>uld-eval report --books</c>) on a work
/// directory of hand-written corpus results: the rule's choice and fallback, the bars, mean ± sd, and errors on bad input.
/// </summary>
[Collection(TorchSharpCollection.Name)] // reads CLI output through the process-wide console
public sealed class BooksReportTests : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    private static CorpusDeploymentResult Result(string deployment, double forget, double retain, double? privLeak = null, double? ppl = null,
        double? fluency = null, int empty = 0, double? alpha = null, int[]? lines = null) => new()
    {
        Deployment = deployment, Model = deployment.Split('@')[0], Alpha = alpha,
        Forget = new CorpusSetMetrics { Passages = 20, Skipped = 0, VerbMem = forget }, Retain = new CorpusSetMetrics { Passages = 30, Skipped = 1, VerbMem = retain },
        PrivLeak = privLeak, FluencyPerplexity = ppl, FluencyRatio = fluency, EmptyContinuations = empty, ContinuationTokensMean = 60,
        ForgetExamples = (lines ?? []).Select(l => new ExampleContinuation(l, $"prefix {l}", $"truth {l}", $"{deployment} wrote {l}", 0.5)).ToList(),
    };

    private string Save(string set, string method, params CorpusDeploymentResult[] results)
    {
        var dir = Directory.CreateDirectory(_work[Path.Combine("results", set)]).FullName;
        var file = new CorpusFile($"data/books/{set}-forget.jsonl", "text", 20, "sha-" + set);
        var run = new CorpusRun
        {
            Settings = new CorpusSettings
            {
                PrefixTokens = 32, ContinuationTokens = 64, MaxAnswerTokens = 200, MinKFraction = 0.4, RetainDeployment = "retain", Judge = "judge",
                Forget = file, Retain = new CorpusFile("data/books/retain-eval.jsonl", "text", 31, "sha-retain"), Holdout = file with { Path = $"data/books/{set}-holdout.jsonl" },
            },
            Results = [Result("retain", 0.20, 0.58, 0, 4.0, 1.0, lines: [3, 7, 9, 11]), Result("target", 0.80, 0.60, -80, 5.0, 1.25, lines: [3, 7, 9, 11]), .. results],
        };
        var path = Path.Combine(dir, method + ".json");
        File.WriteAllText(path, run.ToJson());
        return path;
    }

    /// <summary>Validation: target retain VerbMem 0.60 (floor 0.54), retain model forget VerbMem 0.20.</summary>
    private string[] SaveValidation() =>
    [
        Save("val", "npo+gd",
            Result("npo+gd~a", 0.21, 0.50),                              // nearest the retain model, but below the retain floor
            Result("npo+gd~b", 0.30, 0.55, -20, fluency: 1.10),          // gap 0.10
            Result("npo+gd~c", 0.12, 0.57, 5, fluency: 1.20),            // gap 0.08: chosen
            Result("npo+gd~d", 0.19, 0.59, 0, fluency: 1.50)),           // gap 0.01, but not fluent
        Save("val", "uld",
            Result("uld~steps200", 0.25, 0.60, 10),                      // gap 0.05, |PrivLeak| 10
            Result("uld~steps400", 0.15, 0.60, -4)),                     // gap 0.05, |PrivLeak| 4: wins the tie
        Save("val", "rmu",
            Result("rmu~x", 0.20, 0.40, 0, fluency: 1.0),                // none meets the floors:
            Result("rmu~y", 0.60, 0.45, 0, fluency: 3.0)),               // the highest retain VerbMem
    ];

    private static Task<(int Exit, string Output)> Cli(params string[] args) => ConsoleCapture.RunAsync(() => EvalCli.RunAsync(args));

    [Fact]
    public async Task Selection_takes_the_forget_verbmem_nearest_the_retain_model_within_the_floors_else_the_highest_retain_verbmem()
    {
        var (exit, output) = await Cli(["select", "--corpus", "--results", .. SaveValidation(), "-o", _work["selected-val.txt"]]);

        Assert.Equal(0, exit);
        Assert.Equal("npo+gd c\nrmu y\nuld steps400\n", File.ReadAllText(_work["selected-val.txt"]));
        Assert.Contains("npo+gd: c (forget VerbMem 0.120, 0.080 from the retain model's; retain VerbMem 0.950× target; fluency 1.20× retain; PrivLeak +5.0)", output);
        Assert.Contains("uld: steps400 (forget VerbMem 0.150, 0.050 from the retain model's; retain VerbMem 1.000× target; fluency not measured; PrivLeak -4.0)", output);
        Assert.Contains("rmu: y (forget VerbMem 0.600, 0.400 from the retain model's; retain VerbMem 0.750× target; fluency 3.00× retain; PrivLeak 0.0; no configuration meets the floors: highest retain VerbMem)", output);
    }

    [Fact]
    public async Task Report_shows_each_method_over_its_seeds_with_the_four_bars_the_alpha_sweep_examples_and_the_validation_choice()
    {
        Assert.Equal(0, (await Cli(["select", "--corpus", "--results", .. SaveValidation(), "-o", _work["selected-val.txt"]])).Exit);
        Save("test", "uld",
            Result("uld~seed1", 0.22, 0.57, -10, 4.4, 1.10, 0, lines: [3, 7, 9]), Result("uld~seed2", 0.26, 0.55, -14, 4.8, 1.20, 2),
            Result("uld~seed3", 0.24, 0.56, -12, 5.2, 1.30, 1),
            Result("uld~seed1@1", 0.50, 0.60, -60, fluency: 1.05, alpha: 1), Result("uld~seed1@2", 0.20, 0.54, -5, fluency: 1.40, alpha: 2));
        Save("test", "npo+gd", Result("npo+gd~seed1", 0.05, 0.50, 40, 8.0, 2.0, lines: [3, 7, 9]));
        Save("test", "rmu", Result("rmu~seed1", 0.18, 0.30, lines: [3, 7, 9]), Result("rmu~seed2", 0.20, 0.36));
        var report = _work["out/books.md"];

        var (exit, output) = await Cli("report", "--books", "--work", _work.Path, "-o", report);

        Assert.True(exit == 0, output);
        var md = File.ReadAllText(report);
        // ULD, 3 seeds: forget (0.22, 0.26, 0.24) → 0.240 ± 0.020, 0.04 from the retain model's 0.20; retain 0.560 ± 0.010 = 0.933 ± 0.017 × 0.60;
        // PrivLeak −12 ± 2; fluency 1.20 ± 0.10 × retain; empty (0, 2, 1) → 1.0 ± 1.0; every bar met on the means.
        Assert.Contains("| ULD | steps400 | 3 | 0.240 ± 0.020 | 0.560 ± 0.010 | 0.933 ± 0.017 | -12.0 ± 2.0 | 4.80 ± 0.40 | 1.20 ± 0.10 | 1.0 ± 1.0 | ✓ | ✓ | ✓ | ✓ |", md);
        Assert.Contains("| NPO+GD | c | 1 | 0.050 | 0.500 | 0.833 | +40.0 | 8.00 | 2.00 | 0.0 | ✗ | ✗ | ✗ | ✗ |", md);
        // RMU: forget 0.19 is within 0.05; retain 0.55× misses; fluency and PrivLeak were not measured.
        Assert.Contains("| RMU | y | 2 | 0.190 ± 0.014 | 0.330 ± 0.042 | 0.550 ± 0.071 | — | — | — | 0.0 ± 0.0 | ✓ | ✗ | — | — |", md);
        // The target's fluency is exactly on the 1.25× bar: it meets it.
        Assert.Contains("| Target | — | 1 | 0.800 | 0.600 | 1.000 | -80.0 | 5.00 | 1.25 | 0.0 | ✗ | ✓ | ✓ | ✗ |", md);
        Assert.Contains("| Retain model | — | 1 | 0.200 | 0.580 | 0.967 | 0.0 | 4.00 | 1.00 | 0.0 | ✓ | ✓ | ✓ | ✓ |", md);
        Assert.Contains("One seed only, no spread measured — not yet a result: NPO+GD.", md);
        Assert.Contains("| 1 | 0.500 | 1.000 | 1.05 | -60.0 |", md);
        Assert.Contains("| 2 | 0.200 | 0.900 | 1.40 | -5.0 |", md);
        // RMU's 0.19 is nearer the retain model's 0.20 than NPO+GD's 0.05: it stands beside ULD; three of the target's four passages.
        Assert.Contains("ULD (seed 1) and RMU (seed 1), the baseline", md);
        Assert.Contains("**line 9**: “prefix 9” → truth “truth 9”\n\n- target: “target wrote 9” (ROUGE-L 0.50)\n- retain: “retain wrote 9” (ROUGE-L 0.50)\n- uld~seed1: “uld~seed1 wrote 9” (ROUGE-L 0.50)\n- rmu~seed1: “rmu~seed1 wrote 9” (ROUGE-L 0.50)\n\n", md.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("line 11", md);
        Assert.DoesNotContain("npo+gd~seed1 wrote", md);
        // The validation table marks what selection chose, including the fallback below the floors.
        Assert.Contains("| NPO+GD | c | 0.120 | 0.080 | 0.950 | 1.20 | +5.0 | ✓ | ✓ |", md);
        Assert.Contains("| NPO+GD | d | 0.190 | 0.010 | 0.983 | 1.50 | 0.0 | ✗ |  |", md);
        Assert.Contains("| RMU | y | 0.600 | 0.400 | 0.750 | 3.00 | 0.0 | ✗ | ✓ |", md);

        var json = JsonNode.Parse(File.ReadAllText(_work["out/books.json"]))!;
        var uld = json["test"]!.AsArray().Single(r => r!["method"]!.GetValue<string>() == "uld")!;
        Assert.Equal(0.24, uld["forget_verb_mem"]!["mean"]!.GetValue<double>(), 9);
        Assert.Equal(3, uld["forget_verb_mem"]!["n"]!.GetValue<int>());
        Assert.True(uld["bars"]!["fluency"]!.GetValue<bool>());
        Assert.Equal("rmu", json["best_baseline"]!.GetValue<string>());
        var png = File.ReadAllBytes(_work["out/books-alpha.png"]);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
    }

    [Fact]
    public async Task Uld_with_a_prior_joins_the_report_with_its_own_validation_results_and_choice_and_is_never_the_baseline_shown()
    {
        Assert.Equal(0, (await Cli(["select", "--corpus", "--results", .. SaveValidation(), "-o", _work["selected-val.txt"]])).Exit);
        // bench/books-prior.sh's files: its β sweep in results/val-prior, its choice in selected-prior.txt.
        var prior = Save("val-prior", "uld-prior", Result("uld-prior~b1", 0.40, 0.58, -30, fluency: 0.5), Result("uld-prior~b2", 0.21, 0.57, -2, fluency: 0.4));
        Assert.Equal(0, (await Cli(["select", "--corpus", "--results", prior, "-o", _work["selected-prior.txt"]])).Exit);
        Assert.Equal("uld-prior b2\n", File.ReadAllText(_work["selected-prior.txt"]));
        Save("test", "uld", Result("uld~seed1", 0.22, 0.57, lines: [3]), Result("uld~seed2", 0.26, 0.55));
        Save("test", "uld-prior", Result("uld-prior~seed1", 0.20, 0.56, lines: [3]), Result("uld-prior~seed2", 0.20, 0.58));
        Save("test", "npo+gd", Result("npo+gd~seed1", 0.05, 0.50, lines: [3]), Result("npo+gd~seed2", 0.07, 0.50));

        var (exit, output) = await Cli("report", "--books", "--work", _work.Path, "-o", _work["out/books.md"]);

        Assert.True(exit == 0, output);
        var md = File.ReadAllText(_work["out/books.md"]);
        Assert.Contains("| ULD + prior | b2 | 2 | 0.200 ± 0.000 | 0.570 ± 0.014 |", md);
        Assert.Contains("| ULD + prior | b2 | 0.210 | 0.010 | 0.950 | 0.40 | -2.0 | ✓ | ✓ |", md);
        Assert.Contains("| ULD + prior | b1 | 0.400 |", md);
        // Its forget VerbMem is the nearest the retain model's, but the baseline beside ULD is a baseline.
        Assert.Equal("npo+gd", JsonNode.Parse(File.ReadAllText(_work["out/books.json"]))!["best_baseline"]!.GetValue<string>());
        Assert.Contains("- uld-prior~seed1: “uld-prior~seed1 wrote 3”", md);
    }

    [Fact]
    public async Task Missing_files_and_results_without_a_target_or_retain_model_are_one_error_line()
    {
        async Task<string> Fails(params string[] args)
        {
            var (exit, output) = await Cli(args);
            Assert.Equal(CliErrors.BadInput, exit);
            return output;
        }

        Assert.Contains("no test results in", await Fails("report", "--books", "--work", _work.Path, "-o", _work["books.md"]));
        Assert.Contains("does not exist", await Fails("report", "--books", "--work", _work["nowhere"], "-o", _work["books.md"]));
        Assert.Contains($"{_work["missing.json"]} does not exist.", await Fails("select", "--corpus", "--results", _work["missing.json"], "-o", _work["s.txt"]));
        File.WriteAllText(_work["bad.json"], "{ \"results\": [] }");
        Assert.Contains("is not a corpus result (uld-eval corpus)", await Fails("select", "--corpus", "--results", _work["bad.json"], "-o", _work["s.txt"]));

        var noTarget = Save("test", "uld", Result("uld~seed1", 0.2, 0.5));
        File.WriteAllText(noTarget, File.ReadAllText(noTarget).Replace("\"deployment\": \"target\"", "\"deployment\": \"base\"", StringComparison.Ordinal));
        Assert.Contains($"no 'target' deployment in {noTarget}.", await Fails("report", "--books", "--work", _work.Path, "-o", _work["books.md"]));
        Assert.Contains($"{noTarget} has no result for the deployment 'target'.", await Fails("select", "--corpus", "--results", noTarget, "-o", _work["s.txt"]));
        Assert.Contains("has no result for the deployment 'judge'", await Fails("select", "--corpus", "--retain", "judge", "--results", SaveValidation()[0], "-o", _work["s.txt"]));
        Assert.False(File.Exists(_work["s.txt"]));
    }
}
