using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// simnpo: −(2/β)·logσ(−(β/|y|)·log p_θ(y|x) − δ) per sequence: NPO without the reference model, length-normalised
/// (Fan et al., "Simplicity Prevails: Rethinking Negative Preference Optimization for LLM Unlearning").
/// </summary>
public sealed class SimNpo : ForgetTerm
{
    public override string Name => "simnpo";
    public override string Summary => "NPO without a reference model, length-normalised (β: --beta, δ: --simnpo-margin)";

    public override Tensor Loss(ForgetStep s) =>
        GradientUnlearner.SimNpo(s.Logits.TokensOf(s.Forget).SequenceLogLikelihood() / GradientUnlearner.AnswerLengths(s.Forget.Targets), s.Options.Beta, s.Options.SimNpoMargin);
}
