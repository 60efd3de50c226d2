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
    /// export is committed. Random-weight models are the worst case (near-uniform logits; measured 0.021 int8, 0.47
    /// int4 at the 110M shape, README *Quantized weights*); a broken packing drifts by more than the logits' own size.
    /// The packing itself is checked exactly by a test against the dequantized weights.
    /// </summary>
    public static double MaxRelativeDrift(this WeightFormat format) => format switch
    {
        WeightFormat.Int8 => 0.05,
        WeightFormat.Int4 => 0.75,
        _ => 0,
    };
}
