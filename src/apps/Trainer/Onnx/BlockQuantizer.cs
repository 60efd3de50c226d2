namespace Uld.Trainer.Onnx;

/// <summary>
/// Block-wise symmetric quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits: a weight W [N, K]
/// (Hugging Face's [out, in], which is already the operator's B orientation) becomes codes [N, ⌈K/32⌉, 32·bits/8]
/// packed low bits first, and one float32 scale per block [N·⌈K/32⌉]. No zero-point input is written, so the
/// operator uses its default 2^(bits−1) and dequantizes (code − 2^(bits−1))·scale: symmetric around zero, with the
/// block's largest |w| mapped to ±(2^(bits−1)−1).
/// </summary>
public static class BlockQuantizer
{
    public const int BlockSize = 32;

    /// <summary>Codes [Rows, BlocksPerRow, BlobSize] and scales [Rows·BlocksPerRow] of one weight matrix.</summary>
    public sealed record Blocks(byte[] Codes, float[] Scales, int Rows, int Columns, int Bits)
    {
        public int BlocksPerRow => BlocksPerRow(Columns);
        public int BlobSize => BlobSize(Bits);
    }

    /// <summary>
    /// x [..., K] · Wᵀ → [..., N] as com.microsoft MatMulNBits (inputs A, B uint8 [N, k_blocks, blob_size], scales;
    /// attributes K, N, bits, block_size, accuracy_level) over codes and scales in this class's layout.
    /// </summary>
    public static string MatMulNBits(OnnxGraph g, string x, string codes, string scales, long k, long n, int bits, QuantizedCompute compute,
        string? output = null) =>
        g.Op("MatMulNBits", [x, codes, scales],
            [new IntAttribute("K", k), new IntAttribute("N", n), new IntAttribute("bits", bits), new IntAttribute("block_size", BlockSize),
                new IntAttribute("accuracy_level", (long)compute)],
            output, OnnxModelWriter.ContribDomain);

    public static int BlocksPerRow(long columns) => (int)((columns + BlockSize - 1) / BlockSize);
    public static int BlobSize(int bits) => BlockSize * bits / 8;

    public static Blocks Quantize(float[] weight, int rows, int columns, int bits)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "MatMulNBits weights are 4 or 8 bits here.");
        if (weight.Length != (long)rows * columns) throw new ArgumentException($"weight has {weight.Length} values, expected {rows}×{columns}.");
        var blocksPerRow = BlocksPerRow(columns);
        var blob = BlobSize(bits);
        var codes = new byte[(long)rows * blocksPerRow * blob];
        var scales = new float[rows * blocksPerRow];
        Parallel.For(0, rows, r => QuantizeRow(weight.AsSpan(r * columns, columns), bits,
            codes.AsSpan((int)((long)r * blocksPerRow * blob), blocksPerRow * blob), scales.AsSpan(r * blocksPerRow, blocksPerRow)));
        return new Blocks(codes, scales, rows, columns, bits);
    }

    /// <summary>
    /// One row of K weights into its ⌈K/32⌉ blocks: <paramref name="codes"/> [blocks·BlobSize], <paramref name="scales"/>
    /// [blocks]. Rows are independent, so a table too large to hold as floats is quantized as it streams by.
    /// </summary>
    public static void QuantizeRow(ReadOnlySpan<float> row, int bits, Span<byte> codes, Span<float> scales)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "MatMulNBits weights are 4 or 8 bits here.");
        var blob = BlobSize(bits);
        var zeroPoint = 1 << (bits - 1);
        var maxCode = (1 << bits) - 1;
        Span<int> block = stackalloc int[BlockSize];
        for (var b = 0; b < scales.Length; b++)
        {
            var start = b * BlockSize;
            var values = row.Slice(start, Math.Min(BlockSize, row.Length - start));
            var maxAbs = 0f;
            foreach (var w in values) maxAbs = Math.Max(maxAbs, Math.Abs(w));
            var scale = maxAbs / (zeroPoint - 1);
            scales[b] = scale;
            // Padding past K (when K is not a multiple of 32) gets the zero point: it dequantizes to exactly 0.
            for (var i = 0; i < BlockSize; i++)
                block[i] = i < values.Length && scale > 0 ? Math.Clamp((int)MathF.Round(values[i] / scale) + zeroPoint, 0, maxCode) : zeroPoint;
            var output = codes.Slice(b * blob, blob);
            if (bits == 8)
            {
                for (var i = 0; i < BlockSize; i++) output[i] = (byte)block[i];
            }
            else
            {
                for (var i = 0; i < blob; i++) output[i] = (byte)(block[2 * i] | (block[2 * i + 1] << 4));
            }
        }
    }

    /// <summary>The float weights the operator computes with (tests and drift estimates).</summary>
    public static float[] Dequantize(Blocks q)
    {
        var result = new float[(long)q.Rows * q.Columns];
        var zeroPoint = 1 << (q.Bits - 1);
        for (var r = 0; r < q.Rows; r++)
        {
            for (var c = 0; c < q.Columns; c++)
            {
                var block = c / BlockSize;
                var offset = ((long)r * q.BlocksPerRow + block) * q.BlobSize;
                var inBlock = c % BlockSize;
                int code = q.Bits == 8
                    ? q.Codes[offset + inBlock]
                    : (q.Codes[offset + inBlock / 2] >> (inBlock % 2 * 4)) & 0xF;
                result[(long)r * q.Columns + c] = (code - zeroPoint) * q.Scales[r * q.BlocksPerRow + block];
            }
        }
        return result;
    }
}
