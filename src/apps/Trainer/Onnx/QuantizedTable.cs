using System.Runtime.InteropServices;
using Uld.Trainer.Safetensors;

namespace Uld.Trainer.Onnx;

/// <summary>
/// The embedding table and the LM head of a quantized export as 8-bit blocks [vocab, hidden / 32, 32] (symmetric, one
/// float32 scale per block), read in place by ONNX Runtime contrib operators: <c>GatherBlockQuantized</c> looks up the
/// tokens' rows, <c>MatMulNBits</c> multiplies by the table as the LM head. A tied table is stored once and read by both.
/// <para>
/// Why: kept float32, the tied head is <c>MatMul(x, Transpose(embedding))</c>; ONNX Runtime folds that Transpose
/// into a constant and every session prepacks its own float32 copy of the whole table, which no file contains
/// (1.05 GB per session at Llama-3.2-1B's 128,256 × 2048). Quantized, the table is a quarter of that, read where it is
/// mapped, and the head's packed form is the MatMulNBits layout of the same bytes. An untied vocabulary's two tables
/// shrink alike and its head streams a quarter of the bytes per decoded token. Eight bits, also under
/// <c>--weights int4</c>, because the head makes the logits ULD subtracts: its error reaches every token of the
/// vocabulary (llama.cpp's 4-bit mixes likewise keep the output matrix at higher precision).
/// </para>
/// </summary>
public static class QuantizedTable
{
    public const int Bits = 8;

    /// <summary>The initializers of a table: codes [rows, blocks, 32] and its scales in the shape of each operator that reads it.</summary>
    public sealed record Table(string Codes, string? HeadScales, string? GatherScales);

    /// <summary>Whether a table of this width can be shared: GatherBlockQuantized's rows carry no block padding.</summary>
    public static bool Supports(long hidden) => hidden % BlockQuantizer.BlockSize == 0;

    /// <summary>
    /// Adds the codes and scales initializers of <paramref name="name"/> [rows, columns], for a token lookup
    /// (<paramref name="gather"/>), an LM head (<paramref name="head"/>) or both.
    /// </summary>
    public static Table Add(OnnxGraph g, IReadOnlyDictionary<string, SafeTensor> weights, string name, long rows, long columns, bool gather, bool head)
    {
        if (!gather && !head) throw new ArgumentException("a table is read by a gather, a head or both.");
        if (!Supports(columns)) throw new ArgumentException($"a shared quantized table needs a width divisible by {BlockQuantizer.BlockSize}, not {columns}.");
        var blocks = BlockQuantizer.BlocksPerRow(columns);
        float[]? scales = null;
        // The codes stream through row by row (the float table never exists as one managed array: 1 GB at 1B
        // parameters); the scales they produce on the way are kept for the next initializer (1/32 of the floats).
        void WriteCodes(Stream destination)
        {
            var rowScales = new float[rows * blocks];
            using var quantizer = new RowQuantizingStream((int)columns, destination, rowScales);
            Feed(weights, name, quantizer);
            quantizer.Complete();
            scales = rowScales;
        }
        var codes = g.StreamedBytes($"{name}_q{Bits}", OnnxType.UInt8, [rows, blocks, BlockQuantizer.BlockSize], rows * columns, WriteCodes);
        // The same scales twice, in the shape each operator insists on (MatMulNBits [rows, blocks], GatherBlockQuantized
        // one rank per data dimension): 1/32 of the codes' count, against a table's worth either operator would copy.
        var pending = (gather ? 1 : 0) + (head ? 1 : 0);
        string Scales(string suffix, long[] dims) => g.DeferredBytes($"{name}_{suffix}", OnnxType.Float, dims, rows * blocks * sizeof(float), () =>
        {
            if (scales is null) WriteCodes(Stream.Null); // written before the codes (an inline graph): compute them
            var bytes = MemoryMarshal.AsBytes(scales.AsSpan()).ToArray();
            if (--pending == 0) scales = null;
            return bytes;
        });
        var headScales = head ? Scales("scales", [rows, blocks]) : null;
        var gatherScales = gather ? Scales("gather_scales", [rows, blocks, 1]) : null;
        return new Table(codes, headScales, gatherScales);
    }

    /// <summary>The token rows, dequantized: [batch, seq] ids → [batch, seq, hidden].</summary>
    public static string Gather(OnnxGraph g, Table table, string indices, long columns) =>
        g.Reshape(g.Op("GatherBlockQuantized", [table.Codes, indices, table.GatherScales ?? throw new ArgumentException("the table was not added for a gather.")],
            [new IntAttribute("gather_axis", 0), new IntAttribute("quantize_axis", 2), new IntAttribute("block_size", BlockQuantizer.BlockSize),
                new IntAttribute("bits", Bits)],
            domain: OnnxModelWriter.ContribDomain), 0, 0, columns);

    /// <summary>x [..., hidden] · tableᵀ → [..., rows], the tied LM head.</summary>
    public static string Head(OnnxGraph g, Table table, string x, long rows, long columns, QuantizedCompute compute,
        string? output = null) =>
        BlockQuantizer.MatMulNBits(g, x, table.Codes, table.HeadScales ?? throw new ArgumentException("the table was not added for a head."),
            columns, rows, Bits, compute, output);

    private static void Feed(IReadOnlyDictionary<string, SafeTensor> weights, string name, Stream floats)
    {
        if (weights is ITensorWriter writer) writer.WriteFloat32(name, floats);
        else if (weights.TryGetValue(name, out var tensor)) floats.Write(tensor.Float32Bytes());
        else throw new Contracts.Models.ModelFormatException($"weights have no tensor {name}.");
    }

    /// <summary>A write-only stream of float32 rows that writes each completed row's 8-bit block codes on.</summary>
    private sealed class RowQuantizingStream(int columns, Stream codes, float[] scales) : Stream
    {
        private readonly byte[] _row = new byte[columns * sizeof(float)];
        private readonly byte[] _codes = new byte[columns];
        private readonly int _blocks = BlockQuantizer.BlocksPerRow(columns);
        private int _filled;
        private long _rows;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                var n = Math.Min(buffer.Length, _row.Length - _filled);
                buffer[..n].CopyTo(_row.AsSpan(_filled));
                _filled += n;
                buffer = buffer[n..];
                if (_filled < _row.Length) continue;
                if ((_rows + 1) * _blocks > scales.Length) throw new InvalidOperationException("the table streamed more rows than its shape has.");
                BlockQuantizer.QuantizeRow(MemoryMarshal.Cast<byte, float>(_row.AsSpan()), Bits, _codes, scales.AsSpan((int)(_rows * _blocks), _blocks));
                codes.Write(_codes);
                (_filled, _rows) = (0, _rows + 1);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public void Complete()
        {
            if (_filled != 0 || _rows * _blocks != scales.Length)
                throw new InvalidOperationException($"the table streamed {_rows} rows and {_filled} bytes, not {scales.Length / _blocks} whole rows.");
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _rows * _row.Length + _filled; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
