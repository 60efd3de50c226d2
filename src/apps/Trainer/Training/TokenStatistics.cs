using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// The two numbers per position that every vocabulary loss of the trainers is made of, [batch, seq] each: log p of the
/// target token (0 where the target is <see cref="TrainingBatch.Ignore"/>, as cross-entropy's ignore_index gives) and
/// the mean over the vocabulary of log p. Cross-entropy, token and sequence log-likelihoods, KL(uniform ‖ p) and the
/// below-uniform hinge are functions of these alone, so they can be computed a few positions at a time
/// (<see cref="VocabularyHead"/>) without the [batch, seq, vocab] logits ever existing.
/// </summary>
public sealed record TokenStatistics(Tensor TargetLogProbability, Tensor MeanLogProbability, long Vocabulary)
{
    /// <summary>The same statistics from full logits [batch, seq, vocab]: the unchunked reference, and the path for logits that are not one head's (δ-unlearning's combined logits).</summary>
    public static TokenStatistics FromLogits(Tensor logits, Tensor targets)
    {
        var vocabulary = logits.shape[^1];
        return new TokenStatistics(TargetLogProbabilities(logits, targets), nn.functional.log_softmax(logits, -1).mean([-1L]), vocabulary);
    }

    /// <summary>log p(target) per position of full logits, [batch, seq] (0 where the target is ignored).</summary>
    public static Tensor TargetLogProbabilities(Tensor logits, Tensor targets) =>
        -nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: TrainingBatch.Ignore,
            reduction: nn.Reduction.None).view(targets.shape);

    /// <summary>Mean cross-entropy per answer token.</summary>
    public Tensor AnswerCrossEntropy(Tensor targets) => -TargetLogProbability.sum() / AnswerCount(targets);

    /// <summary>log p(answer | question) per sequence: the sum of its answer-token log-probabilities, [batch].</summary>
    public Tensor SequenceLogLikelihood() => TargetLogProbability.sum(1);

    /// <summary>KL(U ‖ p) = −log V − mean_v log p_v, averaged over real (unpadded) positions.</summary>
    public Tensor KlFromUniform(Tensor attentionMask)
    {
        var mask = attentionMask.to(ScalarType.Float32);
        return ((-Math.Log(Vocabulary) - MeanLogProbability) * mask).sum() / mask.sum();
    }

    /// <summary>
    /// mean over target tokens of max(0, log p(y) + log V + m): zero once each token is m nats below uniform, so the
    /// push is bounded (unlike gradient ascent) and stops before it distorts the rest of the distribution.
    /// </summary>
    public Tensor BelowUniform(Tensor targets, double margin)
    {
        var trained = targets.ne(TrainingBatch.Ignore).to(ScalarType.Float32);
        return (nn.functional.relu(TargetLogProbability + (Math.Log(Vocabulary) + margin)) * trained).sum() / AnswerCount(targets);
    }

    private static Tensor AnswerCount(Tensor targets) => targets.ne(TrainingBatch.Ignore).sum().clamp_min(1).to(ScalarType.Float32);
}
