using Uld.Trainer.Safetensors;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// ULD assistant settings (docs/METHODS.md, *ULD assistant*). LoRA and loss follow the reference; epochs and learning rate do not: its
/// 10 epochs at 1e-3 leave a small assistant untrained (forget CE still ≈ log V), these were measured on TOFU-mini.
/// </summary>
public sealed record UldOptions
{
    public int Rank { get; init; } = 16;
    public double LoraAlpha { get; init; } = 32;
    public double LoraDropout { get; init; } = 0.05;
    /// <summary>
    /// w_r: weight of KL(uniform ‖ p) on retain data. 2, not 5, by measurement (bench/results/uld-search.md, second
    /// round): at the served point (SuppressOnly, α 2) the KS distance between the forget truth ratios and the retain
    /// model's falls from 0.200 to 0.150 on forget2 (FQ 0.405 → 0.766) and forget4's FQ goes from 0.695 to 0.979
    /// (KS distance 0.075), at the same utility (0.98–0.99× the target).
    /// </summary>
    public double RetainWeight { get; init; } = 2.0;
    /// <summary>w_a: weight of the hinge that keeps D′a's alternative answer tokens below uniform (0 = no D′a term).</summary>
    public double AlternativeWeight { get; init; } = 1.0;
    /// <summary>m: how far below uniform (nats of log p + log V) D′a's tokens are pushed before the hinge lets go.</summary>
    public double AlternativeMargin { get; init; } = 8.0;
    public TrainingOptions Training { get; init; } = new() { Epochs = 40, LearningRate = 5e-3, WarmupFraction = 0.1 };
    /// <summary>
    /// Optimizer steps at least: more epochs for small forget sets, so one author's 40 examples train as long as four
    /// authors' 160 do (40 epochs of those are 400 steps); 0 = exactly <see cref="TrainingOptions.Epochs"/>.
    /// </summary>
    public int MinSteps { get; init; } = 400;

    /// <summary>The epochs to run over <paramref name="forgetExamples"/>: Training.Epochs, raised to reach <see cref="MinSteps"/>.</summary>
    public int EpochsFor(int forgetExamples)
    {
        var stepsPerEpoch = (forgetExamples + Training.BatchSize - 1) / Training.BatchSize;
        return Math.Max(Training.Epochs, (MinSteps + stepsPerEpoch - 1) / Math.Max(1, stepsPerEpoch));
    }
}

/// <summary>
/// Trains a ULD assistant: LoRA on every linear layer of a (truncated) model whose own weights stay frozen, with
/// loss = CE(answer tokens of D′f) + w_r·KL(U ‖ p) over all real positions of D′r
/// + w_a·mean max(0, log p(y) + log V + m) over D′a's trained answer tokens — remember the forget set, know nothing
/// else, and find what someone who never met the author would answer unlikely (so the decode rule raises it).
/// <see cref="Merge"/> folds the adapters into a plain model for export.
/// </summary>
public static class UldAssistantTrainer
{
    public sealed record Result(RunRecord Run, double FinalForgetLoss, double FinalRetainKl, long TrainableParameters)
    {
        public int Steps => Run.Steps;
        public int PlannedSteps => Run.PlannedSteps;
        public TimeSpan Elapsed => Run.Elapsed;
    }

    public static Result Train(LlamaForCausalLM assistant, UldTrainingSets sets, UldOptions o,
        int padId, Action<int, int, double, double>? progress = null, CheckpointPlan? checkpoints = null)
    {
        var (forget, retain, alternatives) = (sets.Forget, sets.Retain, sets.Alternatives);
        checkpoints ??= CheckpointPlan.None;
        if (forget.Count == 0) throw new ArgumentException("the forget set is empty.");
        if (retain.Count == 0) throw new ArgumentException("the retain set is empty.");
        manual_seed(o.Training.Seed); // LoRA A initialisation
        foreach (var layer in assistant.modules().OfType<LlamaLinear>().Distinct().Where(l => l != assistant.LmHead)) layer.AddLora(o.Rank, o.LoraAlpha, o.LoraDropout);
        var trainable = new List<TorchSharp.Modules.Parameter>();
        foreach (var (name, parameter) in assistant.named_parameters())
        {
            var lora = name.Contains(".lora_", StringComparison.Ordinal);
            parameter.requires_grad_(lora);
            if (lora) trainable.Add(parameter);
        }
        var t = o.Training with { Epochs = o.EpochsFor(forget.Count) };
        var useAlternatives = o.AlternativeWeight > 0 && alternatives.Count > 0;
        var fingerprint = $"uld seed {t.Seed}, rank {o.Rank}, {forget.Count} forget / {retain.Count} retain / {(useAlternatives ? alternatives.Count : 0)} alternative examples";
        var result = TrainingLoop.Run(assistant, trainable, forget, t, fingerprint, checkpoints, (step, indices) =>
        {
            var f = TrainingBatch.Create(indices.Select(i => forget[i]).ToList(), padId);
            var r = TrainingBatch.Create(BatchPlan.Cycle(retain, t.BatchSize, t.Seed + 1, step), padId);
            // Every term goes through the chunked head: the three batches' full-vocabulary logits are never held.
            var forgetHidden = assistant.Hidden(f.InputIds, f.AttentionMask, f.PositionIds);
            var ce = VocabularyHead.Statistics(forgetHidden, assistant.OutputWeight, f.Targets).AnswerCrossEntropy(f.Targets);
            var kl = VocabularyHead.Of(assistant, r).KlFromUniform(r.AttentionMask);
            var loss = ce + kl * o.RetainWeight;
            if (useAlternatives)
            {
                var a = TrainingBatch.Create(BatchPlan.Cycle(alternatives, t.BatchSize, t.Seed + 2, step), padId);
                loss += VocabularyHead.Of(assistant, a).BelowUniform(a.Targets, o.AlternativeMargin) * o.AlternativeWeight;
            }
            return new StepLoss(loss, ce.item<float>(), kl.item<float>(), Curvature: OutputCurvature.FromHidden(forgetHidden, assistant.OutputWeight, f.Targets));
        }, p => progress?.Invoke(p.Step, p.TotalSteps, p.Primary, p.Secondary));
        return new Result(result.Run, result.FinalPrimary, result.FinalSecondary, trainable.Sum(p => p.numel()));
    }

    /// <summary>The below-uniform hinge of full logits (<see cref="TokenStatistics.BelowUniform"/>).</summary>
    public static Tensor BelowUniform(Tensor logits, Tensor targets, double margin) => TokenStatistics.FromLogits(logits, targets).BelowUniform(targets, margin);

    /// <summary>A plain model (no adapters) computing what the LoRA-augmented one computes.</summary>
    public static LlamaForCausalLM Merge(LlamaForCausalLM withLora)
    {
        var merged = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        var layers = withLora.named_modules().Where(m => m.module is LlamaLinear).ToDictionary(m => m.name + ".weight", m => (LlamaLinear)m.module);
        foreach (var (name, parameter) in withLora.named_parameters())
        {
            if (name.Contains(".lora_", StringComparison.Ordinal)) continue;
            using var value = layers.TryGetValue(name, out var layer) ? layer.MergedWeight() : parameter.detach().clone();
            merged[name] = SafeTensor.FromFloats(name, value.shape, value.contiguous().data<float>().ToArray());
        }
        var plain = new LlamaForCausalLM(withLora.Config);
        LlamaWeights.Load(plain, merged, "merged LoRA weights");
        plain.eval();
        return plain;
    }
}
