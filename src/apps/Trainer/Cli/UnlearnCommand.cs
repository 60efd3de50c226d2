using Uld.Contracts;
using Uld.Cli;
using Uld.Evaluation.Data;
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Contracts.Models;
using Uld.Inference.Sampling;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Import;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;

namespace Uld.Trainer.Cli;

/// <summary><c>unlearn --method uld</c>: a ULD assistant for a base model and a forget set, as a model directory.</summary>
public static class UnlearnCommand
{
    // Every default comes from the options records; options both families share (--epochs, --lr, --batch-size,
    // --seed) stay unset unless given, so each family falls back to its own record.
    private static readonly UldOptions UldDefaults = new();
    private static readonly GradientOptions GradientDefaults = new();

    public static Command Create()
    {
        var method = new Option<string>("--method")
        {
            Description = $"{string.Join(", ", UnlearningMethods.All.Select(m => m.Name))} (`uld-trainer methods` says what each does and needs)",
            Required = true,
        };
        var small = new Option<DirectoryInfo>("--small")
        { Description = "offset methods: the small model (same vocabulary as --base) to copy as reference and unlearn through the combined logits with --base (δ-unlearning)" };
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "the model to unlearn from (model directory)", Required = true };
        var data = new UnlearningDataOptions();
        var output = new Option<DirectoryInfo>("--output", "-o") { Required = true };
        var layers = new Option<int?>("--layers", "-k") { Description = "assistant depth K (default: a quarter of the base's layers, at least 2)" };
        var rank = new Option<int>("--rank") { Description = "ULD: LoRA rank", DefaultValueFactory = _ => UldDefaults.Rank };
        var loraAlpha = new Option<double>("--lora-alpha") { Description = "ULD: LoRA scaling α", DefaultValueFactory = _ => UldDefaults.LoraAlpha };
        var loraDropout = new Option<double>("--lora-dropout") { Description = "ULD: LoRA dropout", DefaultValueFactory = _ => UldDefaults.LoraDropout };
        var retainWeight = new Option<double>("--retain-weight") { Description = "ULD: weight of the retain (uniform) term", DefaultValueFactory = _ => UldDefaults.RetainWeight };
        var alternativeWeight = new Option<double>("--alternative-weight")
        { Description = "ULD: weight of the term keeping other authors' answers to forget questions below uniform (0: off)", DefaultValueFactory = _ => UldDefaults.AlternativeWeight };
        var alternativeMargin = new Option<double>("--alternative-margin")
        { Description = "ULD: nats below uniform that term pushes those answers to", DefaultValueFactory = _ => UldDefaults.AlternativeMargin };
        var minSteps = new Option<int>("--min-steps") { Description = "ULD: optimizer steps at least (more epochs for small forget sets; 0 or less: exactly --epochs)", DefaultValueFactory = _ => UldDefaults.MinSteps };
        var loop = new TrainingLoopOptions();
        var gamma = new Option<double>("--gamma") { Description = "gradient baselines: weight of the retain term (+gd, +kl)", DefaultValueFactory = _ => GradientDefaults.RetainWeight };
        var beta = new Option<double>("--beta") { Description = "NPO / SimNPO / DPO β", DefaultValueFactory = _ => GradientDefaults.Beta };
        var margin = new Option<double>("--simnpo-margin") { Description = "SimNPO reward margin δ", DefaultValueFactory = _ => GradientDefaults.SimNpoMargin };
        var taskVectorScale = new Option<double>("--task-vector-scale") { Description = "task vector: θ_c − s·(θ* − θ_c)", DefaultValueFactory = _ => GradientDefaults.TaskVectorScale };
        var rmuLayer = new Option<int?>("--rmu-layer") { Description = "RMU: the layer ℓ (from 1) whose output is steered; MLPs of ℓ−2..ℓ train (default: half the depth)" };
        var rmuSteering = new Option<double>("--rmu-steering")
        { Description = "RMU: steering coefficient c, as a multiple of the model's mean hidden-state norm at ℓ on the forget answers", DefaultValueFactory = _ => GradientDefaults.RmuSteering };
        var rmuAlpha = new Option<double>("--rmu-alpha") { Description = "RMU: weight α of the retain hidden-state term", DefaultValueFactory = _ => GradientDefaults.RmuAlpha };
        var calibrateRule = new Option<UldRule>("--calibrate-rule")
        { Description = "ULD: the decode rule α is calibrated for (Difference or SuppressOnly)", DefaultValueFactory = _ => UldRule.SuppressOnly };
        var calibrateReference = new Option<string?>("--calibrate-reference")
        { Description = "ULD: what the forget answers must fall to: unseen (the holdout: TOFU's authors no model saw, or --holdout-file) or other-answers (retain answers put to the forget questions; question/answer data); default: unseen when there is a holdout" }
            .AcceptOnlyFromAmong("unseen", "other-answers");
        var calibrateRelativeTop = new Option<double>("--calibrate-relative-top") { Description = "ULD: the relative-top r α is calibrated for", DefaultValueFactory = _ => 0 };
        var force = new Option<bool>("--force");
        var checkpoints = new CheckpointOptions();
        var command = new Command("unlearn", "Unlearn a forget set: train a ULD assistant (--method uld) or run a gradient-based baseline.")
        {
            method, baseDir, output, layers, rank, loraAlpha, loraDropout, retainWeight, alternativeWeight, alternativeMargin, minSteps, gamma, beta,
            margin, taskVectorScale, rmuLayer, rmuSteering, rmuAlpha, force, small, calibrateRule, calibrateReference, calibrateRelativeTop,
        };
        data.AddTo(command);
        loop.AddTo(command);
        checkpoints.AddTo(command);
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var m = parse.GetValue(method)!.ToLowerInvariant();
            var chosen = UnlearningMethods.Find(m) ?? throw new UserErrorException(GradientUnlearner.Unknown(m, UnlearningMethods.All.Select(x => x.Name)));
            var offset = chosen.Family == "offset";
            if (offset != (parse.GetValue(small) is not null))
                throw new UserErrorException(offset ? $"{m} needs --small DIR: the small model to unlearn." : $"--small is only used by the offset methods ({string.Join(", ", OffsetUnlearner.Methods)}).");
            TorchRuntime.EnsureInitialized();

            var baseModel = ModelDirectory.Open(parse.GetValue(baseDir)!.FullName);
            var inputs = data.Resolve(parse, baseModel, parse.GetValue(loop.Seed) ?? new TrainingOptions().Seed);
            var tokenizer = ModelTokenizer.Load(baseModel.Root);
            var examples = inputs.Examples(tokenizer, ChatTemplate.Load(baseModel.Root), baseModel.Config.MaxPositionEmbeddings);
            AnsiConsole.MarkupLineInterpolated($"forget: {inputs.Forget.Count} {Corpus.Describe(inputs.Forget.Kind)} records ({inputs.Forget.Name}); retain: {inputs.Retain.Count} {Corpus.Describe(inputs.Retain.Kind)} records ({inputs.Retain.Name})");
            if (chosen.Family != UnlearningMethods.Uld)
            {
                var methodDefaults = GradientDefaults.For(offset ? OffsetUnlearner.GradientMethod(m) : m);
                var gradientOptions = methodDefaults with
                {
                    Training = loop.Apply(parse, methodDefaults.Training),
                    RetainWeight = parse.GetValue(gamma), Beta = parse.GetValue(beta), SimNpoMargin = parse.GetValue(margin), TaskVectorScale = parse.GetValue(taskVectorScale),
                    RmuLayer = parse.GetValue(rmuLayer), RmuSteering = parse.GetValue(rmuSteering), RmuAlpha = parse.GetValue(rmuAlpha),
                };
                var outputPath = parse.GetValue(output)!.FullName;
                var plan = checkpoints.Plan(parse, outputPath);
                var unlearning = new UnlearningExamples(examples);
                return offset
                    ? OffsetUnlearning.Run(m, baseModel, ModelDirectory.Open(parse.GetValue(small)!.FullName), inputs, unlearning, outputPath, plan, gradientOptions, parse.GetValue(force))
                    : RunGradient(m, baseModel, tokenizer, inputs, unlearning, outputPath, plan, gradientOptions, parse.GetValue(force));
            }
            var options = UldDefaults with
            {
                Rank = parse.GetValue(rank), LoraAlpha = parse.GetValue(loraAlpha), LoraDropout = parse.GetValue(loraDropout),
                RetainWeight = parse.GetValue(retainWeight), AlternativeWeight = parse.GetValue(alternativeWeight),
                AlternativeMargin = parse.GetValue(alternativeMargin), MinSteps = parse.GetValue(minSteps), Training = loop.Apply(parse, UldDefaults.Training),
            };
            var sets = UldData.Build(inputs.Forget, inputs.Retain, examples, tokenizer, ChatTemplate.Load(baseModel.Root), options.Training.Seed);
            var k = parse.GetValue(layers) ?? Math.Min(baseModel.Config.NumHiddenLayers, Math.Max(2, baseModel.Config.NumHiddenLayers / 4));
            using var assistant = LayerTruncation.FirstLayers(baseModel, k);

            var result = CliProgress.Run("ULD assistant", task => UldAssistantTrainer.Train(assistant, sets, options,
                tokenizer.Ids.Pad ?? tokenizer.Ids.Eos, (step, total, ce, kl) => task.Report(step, total, $"ULD assistant: forget CE {ce:F3}, retain KL {kl:F3}"),
                checkpoints.Plan(parse, parse.GetValue(output)!.FullName)));
            var trainPeak = RunManifest.PeakRssMib();
            if (CheckpointOptions.StoppedEarly(result.Steps, result.PlannedSteps, parse.GetValue(output)!.FullName)) return 0;
            using var merged = UldAssistantTrainer.Merge(assistant);
            // Validation chose the holdout on TOFU-mini (bench/results/tofu-mini.md); other answers need question/answer data.
            var chosenReference = (parse.GetValue(calibrateReference) ?? (inputs.Holdout is null ? "other-answers" : "unseen")) == "unseen"
                ? CalibrationReference.Unseen : CalibrationReference.OtherAnswers;
            var calibrations = CalibrateAlpha(baseModel, merged, inputs, examples, parse.GetValue(calibrateRule), parse.GetValue(calibrateRelativeTop), options.Training.Seed);
            if (calibrations is not null && !calibrations.ContainsKey(chosenReference))
                AnsiConsole.MarkupLineInterpolated($"[yellow]no α calibrated against {AlphaCalibrationResult.Name(chosenReference)}[/]: {(chosenReference == CalibrationReference.Unseen ? "no holdout text (--holdout-file)" : "it needs question/answer forget and retain data")}; the server's default α applies.");
            var calibration = calibrations?.GetValueOrDefault(chosenReference);
            var hyper = RunManifest.Hyperparameters(options);
            hyper["layers"] = k;
            AddData(hyper, inputs);
            var manifest = ModelPackage.Write(parse.GetValue(output)!.FullName, merged, TokenizerFiles.FromDirectory(baseModel), baseModel.Generation,
                RunManifest.Create(Path.GetFileName(parse.GetValue(output)!.FullName.TrimEnd('/')), ModelRoles.UldAssistant, UnlearningMethods.Uld, baseModel.Manifest.Name,
                    hyper, inputs.Sources, result.Run, trainPeak, new JsonObject
                    {
                        ["final_forget_ce"] = result.FinalForgetLoss,
                        ["final_retain_kl"] = result.FinalRetainKl,
                        ["trainable_parameters"] = result.TrainableParameters,
                        ["calibration"] = calibration is null ? null : AlphaCalibrationResult.ToJson(calibrations!, chosenReference),
                    }), new ModelPackage.Options { Overwrite = parse.GetValue(force) });
            CheckpointOptions.Remove(parse.GetValue(output)!.FullName);
            if (calibration is not null)
                AnsiConsole.MarkupLineInterpolated($"recommended α {calibration.Alpha} ({calibration.Rule}, r {calibration.RelativeTop}, against {AlphaCalibrationResult.Name(chosenReference)}){(calibration.Reached ? "" : ": forget answers stay more likely than the reference up to the largest α tried")}");
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {parse.GetValue(output)!.FullName}: ULD assistant ({k} layers, {result.TrainableParameters:N0} LoRA parameters) for {manifest.BaseModel}, {result.Elapsed.TotalMinutes:F1} min");
            return 0;
        }));
        return command;
    }

    /// <summary>A gradient baseline: the whole base fine-tuned against the forget set, written with role "unlearned".</summary>
    private static int RunGradient(string method, ModelDirectory baseModel, ModelTokenizer tokenizer, UnlearningInputs inputs, UnlearningExamples examples,
        string output, CheckpointPlan checkpoints, GradientOptions options, bool force)
    {
        var forget = examples.Forget(inputs.Forget, inputs.Refusals, GradientUnlearner.NeedsRefusals(method), options.Training.Seed);
        using var model = LlamaWeights.LoadDirectory(baseModel);
        using var reference = LlamaWeights.LoadDirectory(baseModel);
        var result = CliProgress.Run(method, task => GradientUnlearner.Unlearn(method, model, reference, forget, examples.Of(inputs.Retain),
            options, tokenizer.Ids.Pad ?? tokenizer.Ids.Eos, (step, total, f, r) => task.Report(step, total, $"{method}: forget term {f:F3}, retain term {r:F3}"),
            checkpoints));
        var trainPeak = RunManifest.PeakRssMib();
        if (CheckpointOptions.StoppedEarly(result.Steps, result.PlannedSteps, output)) return 0;
        var hyper = RunManifest.Hyperparameters(options);
        AddData(hyper, inputs);
        ModelPackage.Write(output, model, TokenizerFiles.FromDirectory(baseModel), baseModel.Generation,
            RunManifest.Create(Path.GetFileName(output.TrimEnd('/')), ModelRoles.Unlearned, method, baseModel.Manifest.Name, hyper, inputs.Sources, result.Run, trainPeak,
                new JsonObject
                {
                    ["final_forget_term"] = result.FinalForgetTerm,
                    ["final_retain_term"] = result.FinalRetainTerm,
                    ["trainable_parameters"] = model.parameters().Sum(p => p.numel()),
                }), new ModelPackage.Options { Overwrite = force });
        CheckpointOptions.Remove(output);
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output}: {method} of {baseModel.Manifest.Name}, {result.Elapsed.TotalMinutes:F1} min");
        return 0;
    }

    /// <summary>What the run trained on, as the manifest's hyperparameters record it.</summary>
    internal static void AddData(JsonObject hyper, UnlearningInputs inputs)
    {
        hyper["forget_set"] = inputs.SetName;
        hyper["forget_kind"] = Corpus.Describe(inputs.Forget.Kind);
        hyper["retain_set"] = inputs.Retain.Name;
        if (inputs.Forget.Kind == CorpusKind.Text || inputs.Retain.Kind == CorpusKind.Text)
            (hyper["chunk_tokens"], hyper["chunk_stride"]) = (inputs.Chunking.Tokens, inputs.Chunking.Stride);
    }

    /// <summary>
    /// The assistant's α against each reference it can be calibrated to (docs/METHODS.md, *α calibration*): the forget
    /// examples against the holdout (text no model saw: TOFU's calibration authors, or --holdout-file), and — for
    /// question/answer data — against answers of the retain set put to the forget questions (two per question, drawn
    /// with their own seed). Null when there is no reference at all.
    /// </summary>
    private static Dictionary<CalibrationReference, AlphaCalibrationResult>? CalibrateAlpha(ModelDirectory baseModel, LlamaForCausalLM assistant,
        UnlearningInputs inputs, CorpusExamples examples, UldRule rule, double relativeTop, int seed)
    {
        var references = new Dictionary<CalibrationReference, IReadOnlyList<ChatExample>>();
        if (inputs.Holdout is { } holdout) references[CalibrationReference.Unseen] = examples.Of(holdout);
        if (inputs.Forget.Kind == CorpusKind.QuestionAnswer && inputs.Retain.Kind == CorpusKind.QuestionAnswer)
        {
            var retainAnswers = inputs.Retain.Of<QaRecord>().Select(r => r.Answer).ToList();
            var random = new Random(seed + 17);
            var otherAnswers = inputs.Forget.Of<QaRecord>().SelectMany(r => Enumerable.Range(0, 2).Select(_ => (CorpusRecord)(r with { Answer = retainAnswers[random.Next(retainAnswers.Count)] }))).ToList();
            references[CalibrationReference.OtherAnswers] = examples.Of(inputs.Forget with { Records = otherAnswers });
        }
        if (references.Count == 0)
        {
            AnsiConsole.MarkupLine("[yellow]no α calibration[/]: no holdout text (--holdout-file) and no question/answer data to put other answers to.");
            return null;
        }
        using var target = LlamaWeights.LoadDirectory(baseModel);
        target.eval();
        assistant.eval();
        return AlphaCalibration.Calibrate(target, assistant, examples.Of(inputs.Forget), references, rule, relativeTop);
    }
}
