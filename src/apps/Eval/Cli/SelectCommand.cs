using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary><c>select</c>: each method's configuration chosen on a validation forget set by the protocol's one rule.</summary>
public static class SelectCommand
{
    public static Command Create()
    {
        var results = new Option<FileInfo[]>("--results") { Description = "results JSON of the validation runs (one forget set; repeat or list)", Required = true, AllowMultipleArgumentsPerToken = true };
        var target = new Option<string>("--target") { Description = "the target's deployment name in those results", DefaultValueFactory = _ => "target" };
        var floor = new Option<double>("--min-utility") { Description = "model utility floor as a fraction of the target's", DefaultValueFactory = _ => ConfigurationSelection.UtilityFloor };
        var output = new Option<FileInfo>("--output", "-o") { Description = "where to write 'method config' lines", Required = true };
        var command = new Command("select", "Choose each method's configuration on validation results: the highest forget quality at model utility ≥ floor × target (else the highest utility).")
        {
            results, target, floor, output,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var runs = parse.GetValue(results)!.Select(f => f.Exists ? EvaluationRun.Load(f.FullName) : throw new UserErrorException($"{f.FullName} does not exist.")).ToList();
            if (runs.Select(r => r.ForgetSet).Distinct().Count() > 1) throw new UserErrorException("--results must all be measured on one forget set.");
            var all = runs.SelectMany(r => r.Results).ToList();
            var targetResult = all.FirstOrDefault(r => r.Deployment == parse.GetValue(target))
                ?? throw new UserErrorException($"no result for the target deployment '{parse.GetValue(target)}'.");
            var choices = ConfigurationSelection.Choose(all, targetResult.ModelUtility, parse.GetValue(floor));
            if (choices.Count == 0) throw new UserErrorException($"no deployment names a configuration (method{ConfigurationSelection.Separator}config).");
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllText(path, string.Concat(choices.Values.Select(c => $"{c.Method} {c.Config}\n")));
            foreach (var c in choices.Values)
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"{c.Method}: {c.Config} (FQ {c.ForgetQuality:G3}, MU {c.UtilityRatio:F3}× target{(c.MeetsFloor ? "" : ", below the floor: highest utility")})");
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }
}
