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
        var pairs = new Option<string>("--pairs") { Description = "validation:test forget-set pairs, space-separated", DefaultValueFactory = _ => "val4:forget4 val2:forget2 val1:forget1" };
        var output = new Option<FileInfo>("--output", "-o") { DefaultValueFactory = _ => new FileInfo("bench/results/tofu-mini.md") };
        var readme = new Option<FileInfo>("--readme") { Description = "also rewrite this file's results block (between its tofu-mini results markers) from the test tables" }.AcceptExistingOnly();
        var command = new Command("report", "Write bench/results/tofu-mini.md (+ the α plot) from a TOFU-mini benchmark run under the held-out protocol.") { work, pairs, output, readme };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var pairList = parse.GetValue(pairs)!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(':') is [var v, var t] && v.Length > 0 && t.Length > 0
                ? (v, t) : throw new UserErrorException($"--pairs: '{p}' is not validation:test.")).ToList();
            var markdown = TofuMiniReport.Write(parse.GetValue(work)!.FullName, pairList, Path.ChangeExtension(path, null) + "-alpha.png");
            AtomicFile.WriteAllText(path, markdown);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            if (parse.GetValue(readme) is { } file)
            {
                AtomicFile.WriteAllText(file.FullName, TofuMiniReport.ReplaceBlock(File.ReadAllText(file.FullName),
                    TofuMiniReport.Headline(parse.GetValue(work)!.FullName, pairList)));
                AnsiConsole.MarkupLineInterpolated($"[green]rewrote[/] the results block of {file.FullName}");
            }
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
