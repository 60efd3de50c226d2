using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Onnx;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary>
/// <c>package</c>: a verified copy of a model directory for serving only — ONNX graph, tokenizer, configs and a
/// re-hashed manifest, without the training weights (model.safetensors), which halves its size. This is how the
/// default models under models/ stay small; the trainer cannot continue from such a copy unless <c>--keep-weights</c>
/// kept them (a base that forget requests train assistants against).
/// </summary>
public static class PackageCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "model directory to package", Required = true };
        var output = new Option<DirectoryInfo>("--output", "-o") { Required = true };
        var name = new Option<string?>("--name") { Description = "name in the manifest (default: the output folder's name)" };
        var baseName = new Option<string?>("--base-name") { Description = "base model name to record (a ULD assistant's base, renamed alongside it)" };
        var force = new Option<bool>("--force");
        var keepWeights = new Option<bool>("--keep-weights") { Description = "keep the float32 training weights, so that assistants can still be trained against the package" };
        var weights = ImportCommand.WeightsOption();
        var threshold = ImportCommand.ExternalDataThresholdOption();
        var command = new Command("package", "Copy a model directory for serving only (no training weights), re-hashed; --weights int8|int4 re-exports its ONNX quantized.")
            { model, output, name, baseName, force, keepWeights, weights, threshold };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var source = ModelDirectory.Open(parse.GetValue(model)!.FullName);
            var target = parse.GetValue(output)!.FullName.TrimEnd('/');
            var format = parse.GetValue(weights);
            using var writer = new ModelDirectoryWriter(target, parse.GetValue(force));
            var provenance = source.Manifest.Source?.DeepClone().AsObject() ?? new JsonObject();
            var reExport = format != WeightFormat.Fp32;
            var keep = parse.GetValue(keepWeights);
            if (reExport)
            {
                TorchRuntime.EnsureInitialized();
                using var trained = LlamaWeights.LoadDirectory(source);
                provenance["onnx_export"] = ModelPackage.ExportOnnx(writer, trained, new ModelTensors(trained),
                    new ModelPackage.Options { Weights = format, ExternalDataThreshold = parse.GetValue(threshold), ReleaseModelAfterWrite = true });
            }
            foreach (var relative in source.Manifest.Files.Keys.Where(f => (keep || f != ModelDirectory.WeightsFile) && !(reExport && f.StartsWith("onnx/", StringComparison.Ordinal))))
            {
                var to = writer.PathOf(relative);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(source.PathOf(relative), to);
            }
            provenance["packaged_from"] = source.Manifest.Name;
            provenance["package"] = keep
                ? "serving, with the float32 training weights (model.safetensors) so that assistants for forget requests can be trained against it"
                : "serving (ONNX only; rebuild the training weights with the command in models/README.md)";
            var manifest = writer.Commit(source.Manifest with
            {
                Name = parse.GetValue(name) ?? Path.GetFileName(target),
                BaseModel = parse.GetValue(baseName) ?? source.Manifest.BaseModel,
                Source = provenance,
            });
            var bytes = manifest.Files.Keys.Sum(f => new FileInfo(Path.Combine(target, f)).Length);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {target}: {manifest.Files.Count} files, {bytes / 1e6:F1} MB");
            return 0;
        }));
        return command;
    }
}
