using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// flat-{kl,tv,js,pearson}: −(g*(P(y_w)) − f*(g*(P(y_l)))), FLAT's f-divergence bound with P the per-token
/// geometric-mean probability (Wang et al., "LLM Unlearning via Loss Adjustment with only Forget Data"); forget data only.
/// </summary>
public sealed class Flat(string divergence) : ForgetTerm
{
    public override string Name => $"flat-{divergence}";
    public override string Summary => $"FLAT's loss adjustment with the {divergence.ToUpperInvariant()} divergence, refusals as the good answers; forget data only";
    public override IReadOnlyList<string> RetainTerms { get; } = [""];
    public override bool NeedsRefusals => true;

    public override Tensor Loss(ForgetStep s) =>
        GradientUnlearner.Flat(divergence, GradientUnlearner.MeanTokenProbability(s.Logits.TokensOf(s.Refusals!), s.Refusals!.Targets),
            GradientUnlearner.MeanTokenProbability(s.Logits.TokensOf(s.Forget), s.Forget.Targets));
}
