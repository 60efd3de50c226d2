using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Trainer.Import;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>export-onnx</c>: (re)write onnx/model.onnx of a model directory per docs/DESIGN.md, Contract 2, verified against TorchSharp.</summary>
public static class ExportOnnxCommand
{
    public static Command Create()
    {
        var modelDir = new Option<DirectoryInfo>("--model-dir", "-m") { Description = "model directory to export", Required = true };
        var threshold = ImportCommand.ExternalDataThresholdOption();
        var weights = ImportCommand.WeightsOption();
        var command = new Command("export-onnx", "Write onnx/model.onnx (decoder with KV cache, opset 17) and onnx/serving.onnx (the same with an in-place KV cache), and check their logits against TorchSharp and each other.") { modelDir, threshold, weights };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            TorchRuntime.EnsureInitialized();
            var dir = parse.GetValue(modelDir)!.FullName;
            Contracts.Models.ModelManifest manifest = null!;
            AnsiConsole.Status().Start("exporting", ctx => manifest = ModelPackage.ReExport(dir,
                new ModelPackage.Options { ExternalDataThreshold = parse.GetValue(threshold), Weights = parse.GetValue(weights) }, step => ctx.Status(step)));
            var export = manifest.Source?["onnx_export"];
            AnsiConsole.MarkupLineInterpolated(
                $"[green]exported[/] {dir}/onnx/model.onnx, {parse.GetValue(weights).ToString().ToLowerInvariant()} weights (ONNX vs TorchSharp max |diff| {export?["max_abs_diff_vs_torchsharp"]?.GetValue<double>():G3}, relative {export?["relative_diff_vs_torchsharp"]?.GetValue<double>():G3})");
            return 0;
        }));
        return command;
    }
}
