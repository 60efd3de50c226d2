using System.CommandLine;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary><c>report</c>: the TOFU-mini benchmark table and α plot from the results bench/tofu-mini.sh collected.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var work = new Option<DirectoryInfo>("--work") { Description = "the benchmark's work directory", DefaultValueFactory = _ => new DirectoryInfo("artifacts/tofu-mini") };
        var alpha = new Option<double>("--alpha-default") { Description = "α of the ULD row", DefaultValueFactory = _ => 1.0 };
        var rule = new Option<string>("--uld-rule") { Description = "decode rule of the ULD deployment, as configured (named in the report)", DefaultValueFactory = _ => "Difference" };
        var output = new Option<FileInfo>("--output", "-o") { DefaultValueFactory = _ => new FileInfo("bench/results/tofu-mini.md") };
        var command = new Command("report", "Write bench/results/tofu-mini.md (+ the α plot) from a TOFU-mini benchmark's results.") { work, alpha, rule, output };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var markdown = TofuMiniReport.Write(parse.GetValue(work)!.FullName, parse.GetValue(alpha), Path.ChangeExtension(path, null) + "-alpha.png", parse.GetValue(rule)!);
            AtomicFile.WriteAllText(path, markdown);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }

    /// <summary><c>robustness</c>: the probe table from two <c>tofu</c> runs (questions as written, and reworded).</summary>
    public static Command CreateRobustness()
    {
        var asWritten = new Option<FileInfo>("--as-written") { Required = true };
        var reworded = new Option<FileInfo>("--reworded") { Required = true };
        var rewording = new Option<string>("--rewording") { Required = true, Description = "the --question-format of the reworded run" };
        var output = new Option<FileInfo>("--output", "-o") { DefaultValueFactory = _ => new FileInfo("bench/results/robustness.md") };
        var command = new Command("robustness", "Write bench/results/robustness.md from a run with questions as written and one reworded.") { asWritten, reworded, rewording, output };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            EvaluationRun Load(Option<FileInfo> o) => EvaluationRun.Load(parse.GetValue(o)!.FullName);
            var path = parse.GetValue(output)!.FullName;
            AtomicFile.WriteAllText(path, RobustnessReport.Write(Load(asWritten), Load(reworded), parse.GetValue(rewording)!));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }
}
