using Uld.Contracts;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// Symmetric round-to-nearest weight quantization with one scale per output row, applied in place and kept in float
/// ("fake" quantization): the model computes exactly what an int-b kernel with those scales would. This is the
/// robustness probe of seed 003 — knowledge an unlearning method only nudged away can snap back to the original's bins.
/// </summary>
public static class WeightQuantizer
{
    /// <returns>The number of weight matrices quantized.</returns>
    public static int Quantize(LlamaForCausalLM model, int bits)
    {
        if (bits is < 2 or > 8) throw new UserErrorException($"--bits must be between 2 and 8 (got {bits}).");
        var levels = (1 << (bits - 1)) - 1;
        var count = 0;
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            // Matrices only (linear layers, embeddings); norms stay in full precision, as in int8/int4 LLM formats.
            if (p.dim() != 2) continue;
            var scale = p.abs().amax([1L], keepdim: true).clamp_min(1e-12) / levels;
            p.copy_((p / scale).round().clamp(-levels, levels) * scale);
            count++;
        }
        return count;
    }
}
