using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// ga-mean: ascent on the per-answer mean log-likelihood, mean over answers of (1/|y|)·Σ_t log p_θ(y_t), so that every
/// answer weighs the same where ga's mean over all tokens of a batch lets long answers dominate (a sequence sum would
/// only rescale ga's gradient, which clipping and AdamW undo). This project's own loss, not seed 004's GA2.
/// </summary>
public sealed class GradientAscentMean : ForgetTerm
{
    public override string Name => "ga-mean";
    public override string Summary => "ascent on each answer's mean token log-likelihood (every answer weighs the same)";
    public override Tensor Loss(ForgetStep s) => GradientUnlearner.AnswerMeanAscent(s.Logits.TokensOf(s.Forget).SequenceLogLikelihood(), s.Forget.Targets);
}
