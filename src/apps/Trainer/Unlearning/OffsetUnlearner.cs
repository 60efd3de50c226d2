using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// Offset unlearning by δ-unlearning (the seed's "Offset-*" baselines; docs/METHODS.md): a small model that shares the
/// base's vocabulary is copied as the reference, and the copy is unlearned through the combined logits
/// l_base + (l_unlearned − l_reference) that the server samples from at β = 1. The forget and retain terms are
/// <see cref="GradientUnlearner"/>'s, taken on those combined logits; their reference (NPO's and DPO's log p_ref,
/// the KL term's p_ref) is the combined model at the start, which is the base (the copy equals the reference). The
/// base and the reference stay frozen; only the copy trains.
/// </summary>
public static class OffsetUnlearner
{
    private const string Prefix = "offset-";

    /// <summary>The objective the manifests and checkpoint fingerprints name: the terms are taken on the combined logits.</summary>
    public const string Objective = "delta";

    /// <summary>The three offset rows of the seed's table: a gradient method with a KL-on-retain term each.</summary>
    public static readonly string[] Methods = ["offset-ga+kl", "offset-dpo+kl", "offset-npo+kl"];

    /// <summary>The gradient method whose terms unlearn the pair, e.g. "npo+kl" for "offset-npo+kl".</summary>
    public static string GradientMethod(string method) =>
        Methods.Contains(method) ? method[Prefix.Length..] : throw new ArgumentException($"unknown offset method '{method}'; known: {string.Join(", ", Methods)}.");

    /// <summary>
    /// Unlearns <paramref name="unlearned"/> (a copy of the small model <paramref name="reference"/>) through the combined
    /// logits with <paramref name="baseModel"/>; the base and the reference are frozen. Costs one base forward pass per
    /// batch beside the small pair's.
    /// </summary>
    public static GradientUnlearner.Result Unlearn(string method, LlamaForCausalLM baseModel, LlamaForCausalLM unlearned, LlamaForCausalLM reference,
        ForgetData forget, IReadOnlyList<ChatExample> retain, GradientOptions options, int padId, Action<int, int, double, double>? progress = null,
        CheckpointPlan? checkpoints = null)
    {
        if (baseModel.Config.VocabSize != unlearned.Config.VocabSize)
            throw new ArgumentException($"the small model's vocabulary ({unlearned.Config.VocabSize}) is not the base's ({baseModel.Config.VocabSize}).");
        foreach (var p in baseModel.parameters()) p.requires_grad_(false);
        foreach (var p in reference.parameters()) p.requires_grad_(false);
        baseModel.eval();
        reference.eval();
        return GradientUnlearner.UnlearnThrough(GradientMethod(method), unlearned, () => new DeltaLogits(baseModel, unlearned, reference), Objective,
            forget, retain, options, padId, progress, checkpoints);
    }

    /// <summary>l_base + (l_unlearned − l_reference) on <paramref name="batch"/>: the combined model β = 1 serves, with gradient into the unlearned model only.</summary>
    public static Tensor CombinedLogits(LlamaForCausalLM baseModel, LlamaForCausalLM unlearned, LlamaForCausalLM reference, TrainingBatch batch) =>
        new DeltaLogits(baseModel, unlearned, reference).Of(batch);

    /// <summary>
    /// The combined logits as the trained ones, the base's as the reference. The offset is formed first and then added,
    /// so that while the copy equals the reference it is exactly 0 and the combined logits are the base's bit for bit.
    /// </summary>
    private sealed class DeltaLogits(LlamaForCausalLM baseModel, LlamaForCausalLM unlearned, LlamaForCausalLM reference) : StepLogits
    {
        protected override Tensor Trained(TrainingBatch batch)
        {
            Tensor referenceLogits;
            using (no_grad()) referenceLogits = Forward(reference, batch);
            return Reference(batch) + (Forward(unlearned, batch) - referenceLogits);
        }

        protected override Tensor Frozen(TrainingBatch batch) => Forward(baseModel, batch);
    }
}
