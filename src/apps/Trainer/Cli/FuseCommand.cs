using System.CommandLine;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Trainer.Onnx;

namespace Uld.Trainer.Cli;

/// <summary><c>fuse</c>: one ONNX graph for a ULD pair (served as one session run per step), checked against the two sessions.</summary>
public static class FuseCommand
{
    public static Command Create()
    {
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "base model directory", Required = true };
        var assistantDir = new Option<DirectoryInfo>("--assistant") { Description = "ULD assistant directory (same vocabulary and LM head as the base)", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "fused ONNX file to write (LogitServer deployment setting Fused)", Required = true };
        var threshold = ImportCommand.ExternalDataThresholdOption();
        threshold.Description = "write the fused weights to <output>_data when they exceed this many bytes";
        var command = new Command("fuse", "Write a ULD pair as one ONNX graph (base + assistant layers, one LM head, l_base − α·l_assistant inside) and check it against the two sessions.")
            { baseDir, assistantDir, output, threshold };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var pair = (Base: ModelDirectory.Open(parse.GetValue(baseDir)!.FullName), Assistant: ModelDirectory.Open(parse.GetValue(assistantDir)!.FullName));
            var path = parse.GetValue(output)!.FullName;
            var diff = UldFusedExport.ExportAndVerify(pair.Base, pair.Assistant, path, parse.GetValue(threshold));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path} (fused vs two-session logits max |diff| {diff:G3})");
            return 0;
        }));
        return command;
    }
}
