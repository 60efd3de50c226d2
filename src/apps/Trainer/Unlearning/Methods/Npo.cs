using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>npo: −(2/β)·logσ(−β·(log p_θ(y|x) − log p_ref(y|x))) per sequence (Zhang et al., NPO).</summary>
public sealed class Npo : ForgetTerm
{
    public override string Name => "npo";
    public override string Summary => "negative preference optimisation against the starting model (β: --beta)";

    public override Tensor Loss(ForgetStep s) =>
        GradientUnlearner.Npo(s.Logits.TokensOf(s.Forget).SequenceLogLikelihood(), s.Logits.ReferenceTokens(s.Forget).SequenceLogLikelihood(), s.Options.Beta);
}
