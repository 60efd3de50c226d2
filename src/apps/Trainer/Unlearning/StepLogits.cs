using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// The outputs one training step's unlearning terms are taken on, each batch's computed once per step: <see cref="Of"/>
/// the trained model's logits (with gradient), <see cref="Reference"/> the frozen reference's (NPO's and DPO's
/// log p_ref, the +kl term's p_ref; no gradient), and <see cref="TokensOf"/> / <see cref="ReferenceTokens"/> their
/// <see cref="TokenStatistics"/>. Terms that need only those statistics ask for them, so that a source with a plain
/// output head (a model's own, not δ-unlearning's combination) computes them chunk by chunk and never builds the logits.
/// ga-gradsim+gd's weights and its GD term share the retain pass. The first batch run forward is the output
/// distribution Sophia estimates curvature from.
/// </summary>
public abstract class StepLogits
{
    private readonly Dictionary<TrainingBatch, Tensor> _trained = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TrainingBatch, Tensor> _reference = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TrainingBatch, TokenStatistics> _trainedTokens = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TrainingBatch, TokenStatistics> _referenceTokens = new(ReferenceEqualityComparer.Instance);

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

    /// <summary>The trained model's token statistics on <paramref name="batch"/>, from its logits if a term already asked for them.</summary>
    public TokenStatistics TokensOf(TrainingBatch batch)
    {
        if (_trainedTokens.TryGetValue(batch, out var statistics)) return statistics;
        if (!_trained.ContainsKey(batch) && TrainedOutput(batch) is var (hidden, weight))
        {
            statistics = VocabularyHead.Statistics(hidden, weight, batch.Targets);
            First ??= OutputCurvature.FromHidden(hidden, weight, batch.Targets);
        }
        else statistics = TokenStatistics.FromLogits(Of(batch), batch.Targets);
        _trainedTokens[batch] = statistics;
        return statistics;
    }

    /// <summary>The frozen reference's token statistics on <paramref name="batch"/>, without gradient.</summary>
    public TokenStatistics ReferenceTokens(TrainingBatch batch)
    {
        if (_referenceTokens.TryGetValue(batch, out var statistics)) return statistics;
        using (no_grad())
            statistics = !_reference.ContainsKey(batch) && FrozenOutput(batch) is var (hidden, weight)
                ? VocabularyHead.Statistics(hidden, weight, batch.Targets)
                : TokenStatistics.FromLogits(Reference(batch), batch.Targets);
        _referenceTokens[batch] = statistics;
        return statistics;
    }

    protected abstract Tensor Trained(TrainingBatch batch);

    /// <summary>Called under no_grad.</summary>
    protected abstract Tensor Frozen(TrainingBatch batch);

    /// <summary>The trained model's final hidden states and output weight, or null when its logits are not one head's (then statistics come from <see cref="Trained"/>).</summary>
    protected virtual (Tensor Hidden, Tensor Weight)? TrainedOutput(TrainingBatch batch) => null;

    /// <summary>As <see cref="TrainedOutput"/> for the reference; called under no_grad.</summary>
    protected virtual (Tensor Hidden, Tensor Weight)? FrozenOutput(TrainingBatch batch) => null;

    public static Tensor Forward(LlamaForCausalLM model, TrainingBatch batch) => model.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds).Logits;

    /// <summary>A model's final hidden states and output weight on <paramref name="batch"/>.</summary>
    public static (Tensor Hidden, Tensor Weight) Output(LlamaForCausalLM model, TrainingBatch batch) =>
        (model.Hidden(batch.InputIds, batch.AttentionMask, batch.PositionIds), model.OutputWeight);
}
