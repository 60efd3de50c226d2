using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Eval.Corpora;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary><c>select</c>: each method's configuration chosen on a validation forget set by the protocol's one rule.</summary>
public static class SelectCommand
{
    /// <summary>A chosen configuration and the numbers it was chosen on, as printed.</summary>
    private sealed record Chosen(string Method, string Config, string Numbers);

    public static Command Create()
    {
        var results = new Option<FileInfo[]>("--results") { Description = "results JSON of the validation runs (one forget set; repeat or list)", Required = true, AllowMultipleArgumentsPerToken = true };
        var corpus = new Option<bool>("--corpus") { Description = "the results are uld-eval corpus runs: the books rule (docs/METHODS.md, *Books benchmark*) instead of TOFU's" };
        var target = new Option<string>("--target") { Description = "the target's deployment name in those results", DefaultValueFactory = _ => "target" };
        var retain = new Option<string>("--retain") { Description = "with --corpus: the retain model's deployment name in those results", DefaultValueFactory = _ => "retain" };
        var floor = new Option<double>("--min-utility") { Description = "TOFU: model utility floor as a fraction of the target's", DefaultValueFactory = _ => ConfigurationSelection.UtilityFloor };
        var output = new Option<FileInfo>("--output", "-o") { Description = "where to write 'method config' lines", Required = true };
        var command = new Command("select", "Choose each method's configuration on validation results: TOFU, the highest forget quality at model utility ≥ floor × target (else the highest utility); " +
                                            "--corpus, the forget VerbMem nearest the retain model's at retain VerbMem ≥ 0.9× target and fluency ≤ 1.25× retain (else the highest retain VerbMem).")
        {
            results, corpus, target, retain, floor, output,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var files = parse.GetValue(results)!.Select(f => f.FullName).ToList();
            var choices = parse.GetValue(corpus)
                ? ChooseCorpus(files, parse.GetValue(target)!, parse.GetValue(retain)!)
                : ChooseTofu(files, parse.GetValue(target)!, parse.GetValue(floor));
            if (choices.Count == 0) throw new UserErrorException($"no deployment names a configuration (method{ConfigurationSelection.Separator}config).");
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllText(path, ConfigurationSelection.FormatChoices(choices.Select(c => (c.Method, c.Config))));
            foreach (var c in choices) AnsiConsole.MarkupLineInterpolated($"{c.Method}: {c.Config} ({c.Numbers})");
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }

    private static List<Chosen> ChooseTofu(IReadOnlyList<string> files, string target, double floor)
    {
        var runs = files.Select(EvaluationRun.Load).ToList();
        if (runs.Select(r => r.ForgetSet).Distinct().Count() > 1) throw new UserErrorException("--results must all be measured on one forget set.");
        var all = runs.SelectMany(r => r.Results).ToList();
        var targetResult = all.FirstOrDefault(r => r.Deployment == target) ?? throw new UserErrorException($"no result for the target deployment '{target}'.");
        return ConfigurationSelection.Choose(all, targetResult.ModelUtility, floor).Values.Select(c => new Chosen(c.Method, c.Config, string.Create(CultureInfo.InvariantCulture,
            $"FQ {c.ForgetQuality:G3}, MU {c.UtilityRatio:F3}× target{(c.MeetsFloor ? "" : ", below the floor: highest utility")}"))).ToList();
    }

    private static List<Chosen> ChooseCorpus(IReadOnlyList<string> files, string target, string retain)
    {
        var runs = files.Select(f => (Path: f, Run: CorpusRun.Load(f))).ToList();
        if (runs.Select(r => r.Run.Settings.Forget.Sha256 ?? r.Run.Settings.Forget.Path).Distinct().Count() > 1)
            throw new UserErrorException("--results must all be measured on one forget corpus (their settings name different forget files).");
        var (first, run) = runs[0];
        var candidates = CorpusSelection.Candidates(runs.SelectMany(r => r.Run.Results), run.Deployment(target, first), run.Deployment(retain, first));
        return CorpusSelection.Choose(candidates).Values.Select(c => new Chosen(c.Method, c.Config, string.Create(CultureInfo.InvariantCulture,
            $"forget VerbMem {c.ForgetVerbMem:F3}, {c.ForgetGap:F3} from the retain model's; retain VerbMem {c.RetainRatio:F3}× target; fluency {(c.FluencyRatio is { } f ? $"{f:F2}× retain" : "not measured")}; PrivLeak {Format.PrivLeak(c.PrivLeak)}{(c.MeetsFloors ? "" : "; no configuration meets the floors: highest retain VerbMem")}"))).ToList();
    }
}
