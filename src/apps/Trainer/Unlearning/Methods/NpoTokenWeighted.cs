using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// npo-tokenweighted: NPO per answer token with weights w_t from <see cref="TokenWeights.AboveChance"/>:
/// −(2/β)·(1/N)·Σ_t w_t·logσ(−β·(log p_θ(y_t) − log p_ref(y_t))). This project's own loss, not seed 004's token-level NPO.
/// </summary>
public sealed class NpoTokenWeighted : ForgetTerm
{
    public override string Name => "npo-tokenweighted";
    public override string Summary => "token-level NPO, each token weighted by how far above chance it still is";

    public override Tensor Loss(ForgetStep s)
    {
        var tokens = s.Logits.TokensOf(s.Forget);
        return TokenWeights.TokenNpo(tokens.TargetLogProbability, s.Logits.ReferenceTokens(s.Forget).TargetLogProbability,
            TokenWeights.AboveChance(tokens.TargetLogProbability, s.Forget.Targets, tokens.Vocabulary), s.Forget.Targets, s.Options.Beta);
    }
}
