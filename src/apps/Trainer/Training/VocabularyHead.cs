using TorchSharp;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// The output head applied a chunk of positions at a time, giving <see cref="TokenStatistics"/> with an exact gradient
/// and without the [batch, seq, vocab] logits: at a 128K vocabulary those are 0.5 MB per position, and autograd keeps
/// the logits, their log-softmax and (in backward) their gradient for every batch of a step until it ends — most of
/// the memory of a training step, far more than a small model's weights. Forward keeps only the hidden states and the
/// head weight; backward recomputes each chunk's logits once (checkpointing the head) and applies the closed-form
/// gradient, so one chunk's logits are alive at any time, in forward and in backward.
/// </summary>
public static class VocabularyHead
{
    /// <summary>Logits bytes per chunk: 64 MB is 128 positions at a 128K vocabulary, 512 at 32K — enough rows for an efficient matmul.</summary>
    public const long DefaultChunkBytes = 64L << 20;

    /// <summary>The statistics of <paramref name="model"/> on <paramref name="batch"/>, through the model's trunk (with gradient) and the chunked head.</summary>
    public static TokenStatistics Of(LlamaForCausalLM model, TrainingBatch batch, long chunkRows = 0) =>
        Statistics(model.Hidden(batch.InputIds, batch.AttentionMask, batch.PositionIds), model.OutputWeight, batch.Targets, chunkRows);

    /// <param name="hidden">[batch, seq, hidden] final-norm hidden states</param>
    /// <param name="weight">[vocab, hidden]: logits = hidden·Wᵀ</param>
    /// <param name="targets">[batch, seq] target ids, <see cref="TrainingBatch.Ignore"/> where no token is predicted</param>
    /// <param name="chunkRows">positions per chunk (0: <see cref="DefaultChunkBytes"/> of logits)</param>
    public static TokenStatistics Statistics(Tensor hidden, Tensor weight, Tensor targets, long chunkRows = 0)
    {
        var vocabulary = weight.shape[0];
        var rows = chunkRows > 0 ? chunkRows : Math.Max(1, DefaultChunkBytes / (vocabulary * sizeof(float)));
        var flat = hidden.reshape(-1, hidden.shape[^1]);
        var statistics = RowStatistics.apply(flat, weight, targets.reshape(-1), rows);
        return new TokenStatistics(statistics.select(1, 0).view(targets.shape), statistics.select(1, 1).view(targets.shape), vocabulary);
    }

    /// <summary>[rows, 2]: (log p(target), mean_v log p_v) per row of hidden states, chunk by chunk.</summary>
    private sealed class RowStatistics : autograd.SingleTensorFunction<RowStatistics>
    {
        public override string Name => nameof(RowStatistics);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (hidden, weight, targets, rows) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (long)vars[3]);
            ctx.save_for_backward([hidden, weight, targets]);
            ctx.save_data("rows", rows);
            // Which gradients backward computes: the head weight's is [vocab, hidden], not worth building when frozen.
            ctx.save_data("hidden", hidden.requires_grad);
            ctx.save_data("weight", weight.requires_grad);
            var result = empty(hidden.shape[0], 2, dtype: ScalarType.Float32, device: hidden.device);
            foreach (var (start, length) in Chunks(hidden.shape[0], rows))
            {
                using var scope = NewDisposeScope();
                var logits = hidden.narrow(0, start, length).matmul(weight.t());
                var logNormalizer = logits.logsumexp(-1, keepdim: true);
                var chunkTargets = targets.narrow(0, start, length).unsqueeze(1);
                var target = (logits.gather(1, chunkTargets.clamp_min(0)) - logNormalizer) * chunkTargets.ne(TrainingBatch.Ignore);
                var mean = logits.mean([-1L], keepdim: true) - logNormalizer;
                result.narrow(0, start, length).copy_(cat([target, mean], 1));
            }
            return result;
        }

        /// <summary>
        /// With g₁, g₂ the incoming gradients of a row's two statistics and p = softmax(z):
        /// ∂/∂z = g₁·(onehot(y) − p) + g₂·(1/V − p) = g₁·onehot(y) + g₂/V − (g₁ + g₂)·p; then ∂/∂h = (∂/∂z)·W and
        /// ∂/∂W = Σ_rows (∂/∂z)ᵀ·h.
        /// </summary>
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var noGrad = no_grad();
            var saved = ctx.get_saved_variables();
            var (hidden, weight, targets) = (saved[0], saved[1], saved[2]);
            var rows = (long)ctx.get_data("rows");
            var vocabulary = weight.shape[0];
            var gradients = gradOutput.contiguous();
            var targetGradient = gradients.select(1, 0) * targets.ne(TrainingBatch.Ignore);
            var meanGradient = gradients.select(1, 1);
            var hiddenGradient = (bool)ctx.get_data("hidden") ? empty_like(hidden) : null;
            var weightGradient = (bool)ctx.get_data("weight") ? zeros_like(weight) : null;
            foreach (var (start, length) in Chunks(hidden.shape[0], rows))
            {
                using var scope = NewDisposeScope();
                var chunk = hidden.narrow(0, start, length);
                var (g1, g2) = (targetGradient.narrow(0, start, length).unsqueeze(1), meanGradient.narrow(0, start, length).unsqueeze(1));
                var logits = chunk.matmul(weight.t());
                // The chunk's softmax in place of its logits, then the gradient in place of the softmax: one [rows, vocab] buffer.
                var dLogits = logits.sub_(logits.logsumexp(-1, keepdim: true)).exp_()
                    .mul_(-(g1 + g2)).add_(g2 / vocabulary)
                    .scatter_add_(1, targets.narrow(0, start, length).clamp_min(0).unsqueeze(1), g1);
                hiddenGradient?.narrow(0, start, length).copy_(dLogits.matmul(weight));
                weightGradient?.addmm_(dLogits.t(), chunk);
            }
            // One gradient per forward argument: none for the targets (integers) or the chunk size (not a tensor).
            return [hiddenGradient!, weightGradient!, null!, null!];
        }

        private static IEnumerable<(long Start, long Length)> Chunks(long total, long rows)
        {
            for (long start = 0; start < total; start += rows) yield return (start, Math.Min(rows, total - start));
        }
    }
}
