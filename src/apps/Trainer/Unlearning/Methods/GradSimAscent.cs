using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// ga-gradsim: weighted ascent (1/N)·Σ_t w_t·log p_θ(y_t), w_t from <see cref="TokenWeights.RetainGradientDissimilarity"/>
/// against the step's retain tokens; offered with "+gd" only. This project's own loss, not seed 004's INFLUENCE+GD.
/// </summary>
public sealed class GradSimAscent : ForgetTerm
{
    public override string Name => "ga-gradsim";
    public override string Summary => "ascent weighted by how unlike the retain tokens' logit gradients a token's is";
    public override IReadOnlyList<string> RetainTerms { get; } = ["gd"];
    public override bool ReadsRetain => true;

    public override Tensor Loss(ForgetStep s)
    {
        var (forget, retain) = (s.Logits.Of(s.Forget), s.Logits.Of(s.Retain!));
        var weights = TokenWeights.RetainGradientDissimilarity(forget, s.Forget.Targets, retain, s.Retain!.Targets);
        return TokenWeights.WeightedAscent(GradientUnlearner.TokenLogLikelihood(forget, s.Forget.Targets), weights, s.Forget.Targets);
    }
}
