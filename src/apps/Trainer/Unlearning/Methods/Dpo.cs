using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>dpo: prefer a refusal y_w over the true answer y_l: −(2/β)·logσ(β·(Δ_w − Δ_l)), Δ = log p_θ − log p_ref.</summary>
public sealed class Dpo : ForgetTerm
{
    public override string Name => "dpo";
    public override string Summary => "DPO preferring a refusal over the true answer (β: --beta)";
    public override bool NeedsRefusals => true;

    public override Tensor Loss(ForgetStep s)
    {
        var (l, w) = (s.Logits, s.Refusals!);
        var chosen = l.TokensOf(w).SequenceLogLikelihood() - l.ReferenceTokens(w).SequenceLogLikelihood();
        var rejected = l.TokensOf(s.Forget).SequenceLogLikelihood() - l.ReferenceTokens(s.Forget).SequenceLogLikelihood();
        return GradientUnlearner.Dpo(chosen, rejected, s.Options.Beta);
    }
}
