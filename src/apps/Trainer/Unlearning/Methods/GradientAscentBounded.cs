using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// ga-bounded: mean over answer tokens of max(log p_θ(y_t), −log V), whose gradient stops once a token is at or below
/// chance, where ga keeps diverging. This project's own loss, not seed 004's GA3.
/// </summary>
public sealed class GradientAscentBounded : ForgetTerm
{
    public override string Name => "ga-bounded";
    public override string Summary => "ascent bounded at chance: no gradient once a token is at or below 1/V";

    public override Tensor Loss(ForgetStep s)
    {
        var tokens = s.Logits.TokensOf(s.Forget);
        return GradientUnlearner.BoundedAscent(tokens.TargetLogProbability, s.Forget.Targets, Math.Log(tokens.Vocabulary));
    }
}
