using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// This project's token-weighted methods (npo-tokenweighted, ga-gradsim+gd; not seed 004's token-level NPO or
/// influence scores): a per-answer-token loss weighted by a detached score, the score normalised to mean 1 over a
/// batch's answer tokens so that the weighted loss stays on the scale of the unweighted one and only its distribution
/// over tokens changes. Token log-likelihoods are [batch, length] with 0 where the target is not an answer token.
/// </summary>
public static class TokenWeights
{
    /// <summary>w = s·N / Σs over the N answer tokens, 0 elsewhere; uniform (1) when every score is 0.</summary>
    public static Tensor MeanOne(Tensor scores, Tensor targets)
    {
        using var noGrad = no_grad();
        var answer = AnswerMask(targets);
        var masked = scores.detach() * answer;
        var total = masked.sum().item<float>();
        return total > 0 ? masked * (answer.sum() / total) : answer;
    }

    /// <summary>
    /// npo-tokenweighted's score: [log p_θ(y_t) − log(1/V)]₊, how far above chance the model still predicts the token. What it
    /// already finds no likelier than chance gets weight 0 and stops being pushed down; the facts it still recalls
    /// carry the push.
    /// </summary>
    public static Tensor AboveChance(Tensor tokenLogLikelihood, Tensor targets, long vocab) =>
        MeanOne((tokenLogLikelihood.detach() + Math.Log(vocab)).clamp_min(0), targets);

    /// <summary>
    /// ga-gradsim+gd's score: 1 − [max_r cos(g_t, g_r)]₊, g = softmax(z) − e(y) the gradient of a token's cross-entropy
    /// with respect to its logits, t a forget answer token and r the retain batch's answer tokens. Ascent on t moves
    /// the logits along +g_t; if some retain token's gradient points the same way (the same target predicted in a
    /// similar distribution: wording retain answers share), that ascent would undo retain learning and t gets weight
    /// near 0, while a token specific to the forget set (no retain gradient alike, cos ≤ 0) gets the most. It is the
    /// output layer's gradient inner product with the hidden-state factor dropped: closed-form, no per-token backward
    /// pass. The nearest retain token rather than the retain mean decides, because the mean of many retain gradients
    /// nearly cancels and leaves every forget token about equally (un)related.
    /// </summary>
    public static Tensor RetainGradientDissimilarity(Tensor forgetLogits, Tensor forgetTargets, Tensor retainLogits, Tensor retainTargets)
    {
        using var noGrad = no_grad();
        var forget = Unit(LogitGradients(forgetLogits, forgetTargets));
        var vocab = retainLogits.shape[^1];
        var retain = Unit(LogitGradients(retainLogits, retainTargets).view(-1, vocab).index_select(0, retainTargets.view(-1).ne(TrainingBatch.Ignore).nonzero().squeeze(1)));
        if (retain.shape[0] == 0) return MeanOne(ones_like(forgetTargets, ScalarType.Float32), forgetTargets);
        var nearest = forget.view(-1, vocab).matmul(retain.t()).max(1).values.view(forgetTargets.shape);
        return MeanOne(1 - nearest.clamp(0, 1), forgetTargets);
    }

    private static Tensor Unit(Tensor rows) => rows / (rows.norm(-1, keepdim: true) + 1e-12);

    /// <summary>softmax(z) − onehot(y): ∂CE/∂z at each position, [batch, length, vocab], 0 where the target is ignored.</summary>
    public static Tensor LogitGradients(Tensor logits, Tensor targets)
    {
        var vocab = logits.shape[^1];
        var onehot = nn.functional.one_hot(targets.clamp_min(0), vocab).to(ScalarType.Float32);
        return (nn.functional.softmax(logits.detach(), -1) - onehot) * AnswerMask(targets).unsqueeze(-1);
    }

    /// <summary>npo-tokenweighted: −(2/β)·(1/N)·Σ_t w_t·logσ(−β·(log p_θ(y_t) − log p_ref(y_t))) over the N answer tokens.</summary>
    public static Tensor TokenNpo(Tensor tokenLogLikelihood, Tensor referenceTokenLogLikelihood, Tensor weights, Tensor targets, double beta)
    {
        var perToken = nn.functional.logsigmoid(-beta * (tokenLogLikelihood - referenceTokenLogLikelihood));
        return -(2.0 / beta) * WeightedMean(perToken, weights, targets);
    }

    /// <summary>Weighted gradient ascent: (1/N)·Σ_t w_t·log p_θ(y_t) = −weighted mean CE, minimised.</summary>
    public static Tensor WeightedAscent(Tensor tokenLogLikelihood, Tensor weights, Tensor targets) => WeightedMean(tokenLogLikelihood, weights, targets);

    private static Tensor WeightedMean(Tensor perToken, Tensor weights, Tensor targets)
    {
        var answer = AnswerMask(targets);
        return (perToken * weights * answer).sum() / answer.sum().clamp_min(1);
    }

    private static Tensor AnswerMask(Tensor targets) => targets.ne(TrainingBatch.Ignore).to(ScalarType.Float32);
}
