using Uld.Contracts.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// Rotary position embeddings in the Hugging Face layout (the two halves of each head rotate together).
/// Cos/sin are computed from position ids rather than a precomputed table, so left-padded rows and cached decode
/// steps get the right angles, exactly as the ONNX graph computes them.
/// </summary>
public static class RotaryEmbedding
{
    /// <summary>
    /// 1 / θ^(2i/d) for i in [0, d/2), rescaled by rope_scaling if any, computed in double and rounded once to float32.
    /// Both the TorchSharp model and the ONNX export take their frequencies from here.
    /// </summary>
    public static float[] InverseFrequencies(int headDim, double theta, RopeScaling? scaling = null) =>
        Enumerable.Range(0, headDim / 2)
            .Select(i => 1.0 / Math.Pow(theta, 2.0 * i / headDim))
            .Select(f => (float)(scaling is null ? f : scaling.Rescale(f)))
            .ToArray();

    public static float[] InverseFrequencies(LlamaConfig config) =>
        InverseFrequencies(config.HeadDim, config.RopeTheta, config.ParsedRopeScaling());

    /// <summary>Returns (cos, sin), each [batch, 1, seq, headDim], for position ids [batch, seq].</summary>
    public static (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, float[] inverseFrequencies)
    {
        using var scope = NewDisposeScope();
        var invFreq = tensor(inverseFrequencies, device: positionIds.device).view(1, 1, -1);
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq;
        var angles = cat([freqs, freqs], -1).unsqueeze(1);
        return (angles.cos().MoveToOuterDisposeScope(), angles.sin().MoveToOuterDisposeScope());
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
