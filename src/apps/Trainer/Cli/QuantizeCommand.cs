using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;

namespace Uld.Trainer.Cli;

/// <summary><c>quantize</c>: a copy of a model with int-b weights (per-row scales), for robustness probes.</summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Required = true };
        var bits = new Option<int>("--bits") { DefaultValueFactory = _ => 8 };
        var output = new Option<DirectoryInfo>("--output", "-o") { Required = true };
        var force = new Option<bool>("--force");
        var command = new Command("quantize", "Quantize a model's weight matrices to int8/int4 (per-row symmetric) and export it.") { model, bits, output, force };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            TorchRuntime.EnsureInitialized();
            var source = ModelDirectory.Open(parse.GetValue(model)!.FullName);
            using var weights = LlamaWeights.LoadDirectory(source);
            var matrices = WeightQuantizer.Quantize(weights, parse.GetValue(bits));
            var hyper = source.Manifest.Hyperparameters?.DeepClone().AsObject() ?? new JsonObject();
            hyper["quantization"] = $"int{parse.GetValue(bits)} per-row symmetric, {matrices} matrices";
            var output_ = parse.GetValue(output)!.FullName.TrimEnd('/');
            ModelPackage.Write(output_, weights, TokenizerFiles.FromDirectory(source), source.Generation, source.Manifest with
            {
                Name = Path.GetFileName(output_),
                Method = (source.Manifest.Method ?? source.Manifest.Role) + $"+int{parse.GetValue(bits)}",
                Hyperparameters = hyper,
                Files = new SortedDictionary<string, string>(),
            }, new ModelPackage.Options { Overwrite = parse.GetValue(force) });
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output_}: int{parse.GetValue(bits)} weights ({matrices} matrices)");
            return 0;
        }));
        return command;
    }
}
