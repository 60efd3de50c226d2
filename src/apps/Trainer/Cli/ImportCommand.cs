using Uld.Cli;
using System.CommandLine;
using Spectre.Console;
using Uld.Trainer.Import;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>import llama2c</c> and <c>import hf</c>: foreign checkpoints → model directory (docs/DESIGN.md, Contract 1) with its ONNX export.</summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var command = new Command("import", "Import a pretrained Llama-family model into a model directory (weights, tokenizer, ONNX export, manifest).");
        command.Subcommands.Add(Llama2c());
        command.Subcommands.Add(HuggingFace());
        return command;
    }

    private static Command Llama2c()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "llama2.c v0 checkpoint (.bin)", Required = true };
        var tokenizer = new Option<FileInfo>("--tokenizer") { Description = "llama2.c tokenizer (.bin)", Required = true };
        var (output, name, force, externalThreshold) = CommonOptions();
        var command = new Command("llama2c", "Import a llama2.c checkpoint and tokenizer.") { checkpoint, tokenizer, output, name, force, externalThreshold };
        command.SetAction(parse => CliErrors.Run(parse, () => Run(parse.GetValue(output)!, progress =>
            ModelImporter.ImportLlama2c(parse.GetValue(checkpoint)!.FullName, parse.GetValue(tokenizer)!.FullName,
                parse.GetValue(output)!.FullName, parse.GetValue(name), Options(parse, force, externalThreshold), progress))));
        return command;
    }

    private static Command HuggingFace()
    {
        var input = new Option<DirectoryInfo>("--input") { Description = "Hugging Face Llama directory (config.json, safetensors, tokenizer)", Required = true };
        var (output, name, force, externalThreshold) = CommonOptions();
        var command = new Command("hf", "Import a Hugging Face Llama directory.") { input, output, name, force, externalThreshold };
        command.SetAction(parse => CliErrors.Run(parse, () => Run(parse.GetValue(output)!, progress =>
            ModelImporter.ImportHuggingFace(parse.GetValue(input)!.FullName, parse.GetValue(output)!.FullName, parse.GetValue(name),
                Options(parse, force, externalThreshold), progress))));
        return command;
    }

    internal static (Option<DirectoryInfo> Output, Option<string?> Name, Option<bool> Force, Option<long> ExternalThreshold) CommonOptions() =>
    (
        new Option<DirectoryInfo>("--output", "-o") { Description = "model directory to create", Required = true },
        new Option<string?>("--name") { Description = "model name for the manifest (default: the output directory's name)" },
        new Option<bool>("--force") { Description = "replace an existing output directory" },
        ExternalDataThresholdOption()
    );

    internal static Option<long> ExternalDataThresholdOption() => new("--external-data-threshold")
    {
        Description = "write ONNX weights to onnx/model.onnx_data when they exceed this many bytes",
        DefaultValueFactory = _ => Onnx.OnnxModelWriter.DefaultExternalDataThreshold,
    };

    internal static Option<Onnx.WeightFormat> WeightsOption() => new("--weights")
    {
        Description = "ONNX linear-layer weights: fp32, or int8/int4 block-quantized (block 32, ONNX Runtime MatMulNBits)",
        DefaultValueFactory = _ => Onnx.WeightFormat.Fp32,
    };

    private static ModelPackage.Options Options(ParseResult parse, Option<bool> force, Option<long> threshold) =>
        new() { Overwrite = parse.GetValue(force), ExternalDataThreshold = parse.GetValue(threshold) };

    private static int Run(DirectoryInfo output, Func<Action<string>, Contracts.Models.ModelManifest> import)
    {
        TorchRuntime.EnsureInitialized();
        Contracts.Models.ModelManifest manifest = null!;
        AnsiConsole.Status().Start("importing", ctx => manifest = import(step => ctx.Status(step)));
        var diff = manifest.Source?["onnx_export"]?["max_abs_diff_vs_torchsharp"]?.GetValue<double>();
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output.FullName} ({manifest.Files.Count} files; ONNX vs TorchSharp max |diff| {diff:G3})");
        return 0;
    }
}
