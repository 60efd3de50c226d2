using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>ga: −CE of the forget answers (the mean over a batch's answer tokens).</summary>
public sealed class GradientAscent : ForgetTerm
{
    public override string Name => "ga";
    public override string Summary => "gradient ascent: −CE of the forget answers";
    public override Tensor Loss(ForgetStep s) => -s.Logits.TokensOf(s.Forget).AnswerCrossEntropy(s.Forget.Targets);
}
