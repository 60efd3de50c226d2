using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary>
/// <c>unlearn --method offset-*</c>: the small model of an offset-unlearning pair is written as the reference and,
/// unlearned, as the unlearned model — <c>OUTPUT/reference</c> and <c>OUTPUT/unlearned</c>, the two directories an
/// Offset deployment serves beside the base. The copy is trained through the combined logits with the base, which is
/// loaded frozen (<see cref="OffsetUnlearner"/>). Both are staged together and renamed into place, so a failed run
/// leaves no half pair.
/// </summary>
public static class OffsetUnlearning
{
    public const string ReferenceFolder = "reference";
    public const string UnlearnedFolder = "unlearned";

    public static int Run(string method, ModelDirectory baseModel, ModelDirectory small, UnlearningInputs inputs, UnlearningExamples examples,
        string output, CheckpointPlan checkpoints, GradientOptions options, bool force)
    {
        // The offset is added token by token to the base's logits, so both must number the vocabulary alike.
        var (baseTokenizer, smallTokenizer) = (baseModel.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile),
            small.Manifest.Files.GetValueOrDefault(ModelDirectory.TokenizerFile));
        if (baseTokenizer is null || baseTokenizer != smallTokenizer || baseModel.Config.VocabSize != small.Config.VocabSize)
            throw new UserErrorException($"--small {small.Root} does not share the base's vocabulary (tokenizer.json sha256 {smallTokenizer} vs {baseTokenizer}); an offset pair must.");
        if (Directory.Exists(output) && !force) throw new UserErrorException($"{output} exists; pass --force to replace it.");

        // The pair is trained through the base's logits, on prompts as the base's deployment formats them.
        var tokenizer = ModelTokenizer.Load(baseModel.Root);
        var forget = examples.Forget(inputs.Forget, inputs.Refusals, GradientUnlearner.NeedsRefusals(OffsetUnlearner.GradientMethod(method)), options.Training.Seed);
        using var frozenBase = LlamaWeights.LoadDirectory(baseModel);
        using var unlearned = LlamaWeights.LoadDirectory(small);
        using var reference = LlamaWeights.LoadDirectory(small);
        var result = CliProgress.Run(method, task => OffsetUnlearner.Unlearn(method, frozenBase, unlearned, reference, forget, examples.Of(inputs.Retain), options,
            tokenizer.Ids.Pad ?? tokenizer.Ids.Eos, (step, total, f, r) => task.Report(step, total, $"{method}: forget term {f:F3}, retain term {r:F3}"), checkpoints));
        var trainPeak = RunManifest.PeakRssMib();
        if (CheckpointOptions.StoppedEarly(result.Steps, result.PlannedSteps, output)) return 0;

        var hyper = RunManifest.Hyperparameters(options);
        UnlearnCommand.AddData(hyper, inputs);
        hyper["small_model"] = small.Manifest.Name;
        // δ-unlearning: the terms were taken on l_base + (l_unlearned − l_reference), not on the small model alone.
        hyper["objective"] = OffsetUnlearner.Objective;
        var staging = output.TrimEnd('/') + ".staging";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        try
        {
            string Name(string folder) => $"{Path.GetFileName(output.TrimEnd('/'))}-{folder}";
            // The model whose logits the offset is added to is the base; the small model is named in the hyperparameters.
            // The reference is the small model as it was: its manifest names the run that paired it, without the run's metrics.
            var unlearnedManifest = RunManifest.Create(Name(UnlearnedFolder), ModelRoles.OffsetUnlearned, method, baseModel.Manifest.Name,
                hyper.DeepClone().AsObject(), inputs.Sources, result.Run, trainPeak, new JsonObject
                {
                    ["final_forget_term"] = result.FinalForgetTerm,
                    ["final_retain_term"] = result.FinalRetainTerm,
                    ["trainable_parameters"] = unlearned.parameters().Sum(p => p.numel()),
                });
            var referenceManifest = unlearnedManifest with { Name = Name(ReferenceFolder), Role = ModelRoles.OffsetReference, Hyperparameters = hyper.DeepClone().AsObject(), Metrics = null };
            var files = TokenizerFiles.FromDirectory(small);
            ModelPackage.Write(Path.Combine(staging, ReferenceFolder), reference, files, small.Generation, referenceManifest, new ModelPackage.Options());
            ModelPackage.Write(Path.Combine(staging, UnlearnedFolder), unlearned, files, small.Generation, unlearnedManifest, new ModelPackage.Options());
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
            Directory.Move(staging, output);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        CheckpointOptions.Remove(output);
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output}/{{{ReferenceFolder},{UnlearnedFolder}}}: {method} of {small.Manifest.Name}, an offset for {baseModel.Manifest.Name}, {result.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
}
