using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// The logits one training step's unlearning terms are taken on, each batch's computed once per step: <see cref="Of"/>
/// those of the model being trained (with gradient), <see cref="Reference"/> those of the frozen reference (NPO's and
/// DPO's log p_ref, the +kl term's p_ref; no gradient). ga-gradsim+gd's weights and its GD term share the retain pass.
/// The first batch run forward is the output distribution Sophia estimates curvature from.
/// </summary>
public abstract class StepLogits
{
    private readonly Dictionary<TrainingBatch, Tensor> _trained = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TrainingBatch, Tensor> _reference = new(ReferenceEqualityComparer.Instance);

    public OutputCurvature? First { get; private set; }

    /// <summary>The trained model's logits on <paramref name="batch"/>, [batch, length, vocab].</summary>
    public Tensor Of(TrainingBatch batch)
    {
        if (_trained.TryGetValue(batch, out var logits)) return logits;
        logits = Trained(batch);
        _trained[batch] = logits;
        First ??= new OutputCurvature(logits, batch.Targets);
        return logits;
    }

    /// <summary>The frozen reference's logits on <paramref name="batch"/>, computed without gradient.</summary>
    public Tensor Reference(TrainingBatch batch)
    {
        if (_reference.TryGetValue(batch, out var logits)) return logits;
        using (no_grad()) logits = Frozen(batch);
        _reference[batch] = logits;
        return logits;
    }

    protected abstract Tensor Trained(TrainingBatch batch);

    /// <summary>Called under no_grad.</summary>
    protected abstract Tensor Frozen(TrainingBatch batch);

    public static Tensor Forward(LlamaForCausalLM model, TrainingBatch batch) => model.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds).Logits;
}
