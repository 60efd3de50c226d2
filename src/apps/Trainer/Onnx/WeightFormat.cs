namespace Uld.Trainer.Onnx;

/// <summary>How the ONNX export stores the decoder layers' linear weights.</summary>
public enum WeightFormat
{
    /// <summary>float32 MatMul: bit-exact with TorchSharp up to float rounding.</summary>
    Fp32,
    /// <summary>8-bit codes, one float32 scale per 32 weights, ONNX Runtime's com.microsoft MatMulNBits.</summary>
    Int8,
    /// <summary>4-bit codes, one float32 scale per 32 weights, ONNX Runtime's com.microsoft MatMulNBits.</summary>
    Int4,
}

/// <summary>
/// What MatMulNBits multiplies in: its <c>accuracy_level</c> attribute, whose values these are. ONNX Runtime uses the
/// given level or, where its CPU kernels have none, the next more accurate one.
/// </summary>
public enum QuantizedCompute
{
    /// <summary>
    /// Level 0, the most accurate: the weights dequantize to float32 and multiply in float32, so the result is exactly
    /// that of the dequantized weights (what a packing test pins). For 8-bit weights on x64 this is a fallback that
    /// dequantizes the whole matrix on every call.
    /// </summary>
    Exact = 0,
    /// <summary>
    /// Level 4: activations quantized to int8 per block, integer dot products (MLAS's CompInt8 kernels). Measured side
    /// by side on the 110M shape: int8 decode 3.8 → 50 tok/s (float32 36), int4 47 → 58 tok/s, prefill 10–30% faster;
    /// the probe's relative logit drift moves from 0.020 to 0.030 (int8) and from 0.469 to 0.472 (int4).
    /// </summary>
    Int8 = 4,
}

public static class WeightFormats
{
    public static int Bits(this WeightFormat format) => format switch
    {
        WeightFormat.Int8 => 8,
        WeightFormat.Int4 => 4,
        _ => 32,
    };

    /// <summary>
    /// Bound on the probe's max |logit drift| relative to the largest |logit| of the float32 model, checked before an
    /// export is committed. Random-weight models are the worst case (near-uniform logits; measured with int8 compute,
    /// <see cref="QuantizedCompute.Int8"/>, 8-bit vocabulary tables: int8 0.024 at the 110M shape and 0.045 at Llama-3.2-1B,
    /// int4 0.47 at 110M and 0.62–0.73 at Llama-3.2-1B across random draws;
    /// docs/MODELS.md, *Quantized weights*); a broken packing drifts by more than the logits' own size. The packing itself is
    /// checked exactly by a test against the dequantized weights.
    /// </summary>
    public static double MaxRelativeDrift(this WeightFormat format) => format switch
    {
        WeightFormat.Int8 => 0.1,
        WeightFormat.Int4 => 0.75,
        _ => 0,
    };
}
