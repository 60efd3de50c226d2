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
        var books = new Option<bool>("--books") { Description = "the books benchmark (bench/books.sh) instead of TOFU-mini: bench/results/books.md, books.json and books-alpha.png" };
        var work = new Option<DirectoryInfo?>("--work") { Description = "the benchmark's work directory (default artifacts/tofu-mini, with --books artifacts/books)" };
        var pairs = new Option<string>("--pairs") { Description = "TOFU-mini: validation:test forget-set pairs, space-separated", DefaultValueFactory = _ => "val4:forget4 val2:forget2 val1:forget1" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "default bench/results/tofu-mini.md, with --books bench/results/books.md" };
        var readme = new Option<FileInfo>("--readme") { Description = "TOFU-mini: also rewrite this file's results block (between its tofu-mini results markers) from the test tables" }.AcceptExistingOnly();
        var command = new Command("report", "Write bench/results/tofu-mini.md (or, with --books, books.md) + the α plot from a benchmark run under the held-out protocol.") { books, work, pairs, output, readme };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var isBooks = parse.GetValue(books);
            var name = isBooks ? "books" : "tofu-mini";
            var path = (parse.GetValue(output) ?? new FileInfo($"bench/results/{name}.md")).FullName;
            var workDir = (parse.GetValue(work) ?? new DirectoryInfo($"artifacts/{name}")).FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var plot = Path.ChangeExtension(path, null) + "-alpha.png";
            if (isBooks)
            {
                if (parse.GetValue(readme) is not null) throw new UserErrorException("--readme rewrites TOFU-mini's results block; the books numbers are in books.json beside the report.");
                WriteBooks(workDir, path, plot);
                return 0;
            }
            var pairList = parse.GetValue(pairs)!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(':') is [var v, var t] && v.Length > 0 && t.Length > 0
                ? (v, t) : throw new UserErrorException($"--pairs: '{p}' is not validation:test.")).ToList();
            AtomicFile.WriteAllText(path, TofuMiniReport.Write(workDir, pairList, plot));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            if (parse.GetValue(readme) is { } file)
            {
                AtomicFile.WriteAllText(file.FullName, TofuMiniReport.ReplaceBlock(File.ReadAllText(file.FullName), TofuMiniReport.Headline(workDir, pairList)));
                AnsiConsole.MarkupLineInterpolated($"[green]rewrote[/] the results block of {file.FullName}");
            }
            return 0;
        }));
        return command;
    }

    private static void WriteBooks(string work, string path, string plot)
    {
        var summary = BooksResults.Load(work);
        if (summary.Sweep.Count > 0) BooksReport.Plot(summary, plot);
        var json = Path.ChangeExtension(path, ".json");
        AtomicFile.WriteAllText(json, summary.ToJson());
        AtomicFile.WriteAllText(path, BooksReport.Write(summary, Path.GetFileName(plot)));
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}, {json}{(summary.Sweep.Count > 0 ? $", {plot}" : "")}");
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
