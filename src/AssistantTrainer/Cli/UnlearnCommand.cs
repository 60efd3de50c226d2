using Uld.Cli;
using Uld.Core.Data;
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Core.Models;
using Uld.Core.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary><c>unlearn --method uld</c>: a ULD assistant for a base model and a forget set, as a model directory.</summary>
public static class UnlearnCommand
{
    /// <summary>The gradient-based baselines of docs/METHODS.md; named here so that asking for one gets a clear answer.</summary>
    private static readonly string[] NotYet = ["dpo", "dpo+gd", "idk", "flat-kl", "flat-tv", "flat-js", "flat-pearson", "task-vector"];

    public static Command Create()
    {
        var method = new Option<string>("--method") { Description = $"uld, or a gradient baseline: {string.Join(", ", GradientUnlearner.Methods)}", Required = true };
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "the model to unlearn from (model directory)", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "TOFU directory", Required = true };
        var split = new Option<FileInfo>("--split") { DefaultValueFactory = _ => new FileInfo("data/tofu-mini.json") };
        var forget = new Option<string>("--forget") { Description = "forget set of the split, e.g. forget4", Required = true };
        var output = new Option<DirectoryInfo>("--output", "-o") { Required = true };
        var layers = new Option<int?>("--layers", "-k") { Description = "assistant depth K (default: a quarter of the base's layers, at least 1)" };
        var rank = new Option<int>("--rank") { DefaultValueFactory = _ => 16 };
        var loraAlpha = new Option<double>("--lora-alpha") { DefaultValueFactory = _ => 32 };
        var loraDropout = new Option<double>("--lora-dropout") { DefaultValueFactory = _ => 0.05 };
        var retainWeight = new Option<double>("--retain-weight") { DefaultValueFactory = _ => 5.0 };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1234 };
        var force = new Option<bool>("--force");
        var command = new Command("unlearn", "Unlearn a forget set: train a ULD assistant (--method uld).")
        {
            method, baseDir, data, split, forget, output, layers, rank, loraAlpha, loraDropout, retainWeight, epochs, batchSize, lr, seed, force,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var m = parse.GetValue(method)!.ToLowerInvariant();
            if (NotYet.Contains(m)) throw new NotSupportedException($"method '{m}' is not implemented yet; available: uld, {string.Join(", ", GradientUnlearner.Methods)}.");
            if (m != "uld" && !GradientUnlearner.Methods.Contains(m))
                throw new ArgumentException($"unknown method '{m}'; known: uld, {string.Join(", ", GradientUnlearner.Methods.Concat(NotYet))}.");
            TorchRuntime.EnsureInitialized();

            var baseModel = ModelDirectory.Open(parse.GetValue(baseDir)!.FullName);
            var definition = TofuSplitDefinition.Load(parse.GetValue(split)!.FullName);
            var (forgetRecords, retainRecords) = TofuDataset.Load(parse.GetValue(data)!.FullName, definition.QuestionsPerAuthor).Split(definition, parse.GetValue(forget)!);
            var tokenizer = ModelTokenizer.Load(baseModel.Root);
            if (m != "uld")
            {
                return RunGradient(m, baseModel, tokenizer, forgetRecords, retainRecords, parse.GetValue(output)!.FullName, parse.GetValue(split)!.FullName,
                    new GradientOptions
                    {
                        Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batchSize), LearningRate = parse.GetValue(lr),
                        RetainWeight = 1.0, Seed = parse.GetValue(seed),
                    }, parse.GetValue(forget)!, parse.GetValue(force));
            }
            var options = new UldOptions
            {
                Rank = parse.GetValue(rank), LoraAlpha = parse.GetValue(loraAlpha), LoraDropout = parse.GetValue(loraDropout),
                RetainWeight = parse.GetValue(retainWeight), Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr), Seed = parse.GetValue(seed),
            };
            var (forgetSet, retainSet) = UldData.Build(forgetRecords, retainRecords, tokenizer, ChatTemplate.Load(baseModel.Root), options.Seed);
            var k = parse.GetValue(layers) ?? Math.Max(1, baseModel.Config.NumHiddenLayers / 4);
            using var assistant = LayerTruncation.FirstLayers(baseModel, k);

            var result = CliProgress.Run("ULD assistant", task => UldAssistantTrainer.Train(assistant, forgetSet, retainSet, options,
                tokenizer.Ids.Pad ?? tokenizer.Ids.Eos, (step, total, ce, kl) => task.Report(step, total, $"ULD assistant: forget CE {ce:F3}, retain KL {kl:F3}")));
            using var merged = UldAssistantTrainer.Merge(assistant);
            var hyper = JsonSerializer.SerializeToNode(options, Uld.Core.Json.SnakeCase)!.AsObject();
            hyper["layers"] = k;
            hyper["forget_set"] = parse.GetValue(forget);
            var manifest = ModelPackage.Write(parse.GetValue(output)!.FullName, merged, TokenizerFiles.FromDirectory(baseModel), baseModel.Generation,
                new ModelManifest
                {
                    Name = Path.GetFileName(parse.GetValue(output)!.FullName.TrimEnd('/')),
                    Role = ModelRoles.UldAssistant,
                    BaseModel = baseModel.Manifest.Name,
                    Method = "uld",
                    Hyperparameters = hyper,
                    TrainingData = [new DataFile(Path.GetFileName(parse.GetValue(split)!.FullName), FileHash.Sha256(parse.GetValue(split)!.FullName))],
                    Metrics = new JsonObject
                    {
                        ["final_forget_ce"] = result.FinalForgetLoss,
                        ["final_retain_kl"] = result.FinalRetainKl,
                        ["trainable_parameters"] = result.TrainableParameters,
                        ["train_seconds"] = Math.Round(result.Elapsed.TotalSeconds, 1),
                    },
                }, new ModelPackage.Options { Overwrite = parse.GetValue(force) });
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {parse.GetValue(output)!.FullName}: ULD assistant ({k} layers, {result.TrainableParameters:N0} LoRA parameters) for {manifest.BaseModel}, {result.Elapsed.TotalMinutes:F1} min");
            return 0;
        }));
        return command;
    }

    /// <summary>A gradient baseline: the whole base fine-tuned against the forget set, written with role "unlearned".</summary>
    private static int RunGradient(string method, ModelDirectory baseModel, ModelTokenizer tokenizer, IReadOnlyList<TofuRecord> forgetRecords,
        IReadOnlyList<TofuRecord> retainRecords, string output, string splitPath, GradientOptions options, string forgetSet, bool force)
    {
        var template = ChatTemplate.Load(baseModel.Root);
        List<ChatExample> Examples(IEnumerable<TofuRecord> records) => records.Select(r => ChatExample.Create(tokenizer, template, r.Question, r.Answer)).ToList();
        using var model = LlamaWeights.LoadDirectory(baseModel);
        using var reference = LlamaWeights.LoadDirectory(baseModel);
        var result = CliProgress.Run(method, task => GradientUnlearner.Unlearn(method, model, reference, Examples(forgetRecords), Examples(retainRecords),
            options, tokenizer.Ids.Pad ?? tokenizer.Ids.Eos, (step, total, f, r) => task.Report(step, total, $"{method}: forget term {f:F3}, retain term {r:F3}")));
        var hyper = JsonSerializer.SerializeToNode(options, Uld.Core.Json.SnakeCase)!.AsObject();
        hyper["forget_set"] = forgetSet;
        ModelPackage.Write(output, model, TokenizerFiles.FromDirectory(baseModel), baseModel.Generation, new ModelManifest
        {
            Name = Path.GetFileName(output.TrimEnd('/')),
            Role = ModelRoles.Unlearned,
            BaseModel = baseModel.Manifest.Name,
            Method = method,
            Hyperparameters = hyper,
            TrainingData = [new DataFile(Path.GetFileName(splitPath), FileHash.Sha256(splitPath))],
            Metrics = new JsonObject
            {
                ["final_forget_term"] = result.FinalForgetTerm,
                ["final_retain_term"] = result.FinalRetainTerm,
                ["train_seconds"] = Math.Round(result.Elapsed.TotalSeconds, 1),
            },
        }, new ModelPackage.Options { Overwrite = force });
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output}: {method} of {baseModel.Manifest.Name}, {result.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
}
