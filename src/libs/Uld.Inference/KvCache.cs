using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Uld.Inference;

/// <summary>
/// The key/value cache of one batch: per layer, [batch, kv_heads, length, head_dim] float tensors owned by this
/// object (the ONNX Runtime outputs of the previous step). Dispose releases the native memory.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly OrtValue[] _keys;
    private readonly OrtValue[] _values;

    internal KvCache(OrtValue[] keys, OrtValue[] values, int batch, int length)
    {
        _keys = keys;
        _values = values;
        Batch = batch;
        Length = length;
    }

    public int Batch { get; }
    /// <summary>Number of cached positions (past + seq of the step that produced it).</summary>
    public int Length { get; }
    public int Layers => _keys.Length;

    public OrtValue Key(int layer) => _keys[layer];
    public OrtValue Value(int layer) => _values[layer];

    /// <summary>An empty cache (length 0) for a prefill step.</summary>
    public static KvCache Empty(int layers, int batch, int kvHeads, int headDim)
    {
        long[] shape = [batch, kvHeads, 0, headDim];
        OrtValue Create() => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, shape);
        return new KvCache(Enumerable.Range(0, layers).Select(_ => Create()).ToArray(),
            Enumerable.Range(0, layers).Select(_ => Create()).ToArray(), batch, 0);
    }

    /// <summary>The present of a step that wrote its cache in place (<see cref="KvSlots"/>): no tensors, nothing to dispose.</summary>
    internal static KvCache HeldElsewhere(int batch) => new([], [], batch, 0);

    /// <summary>
    /// Builds a new cache of <paramref name="length"/> positions from rows of existing caches: row i of the result
    /// holds columns [Skip, source.Length) of (Source, Row), right-aligned, with zeros (masked padding) before it.
    /// This is how a running batch admits prefilled newcomers, drops finished rows and trims shared left padding.
    /// </summary>
    public static KvCache Gather(IReadOnlyList<(KvCache Source, int Row, int Skip)> rows, int length)
    {
        if (rows.Count == 0) throw new ArgumentException("at least one row is needed.", nameof(rows));
        var first = rows[0].Source;
        var shape = first._keys[0].GetTensorTypeAndShape().Shape;
        var (kvHeads, headDim) = ((int)shape[1], (int)shape[3]);
        foreach (var (source, row, skip) in rows)
        {
            if (source.Length - skip > length || row >= source.Batch || skip < 0)
                throw new ArgumentException($"row {row} of a cache of length {source.Length} (skip {skip}) does not fit in {length} positions.");
        }

        OrtValue GatherOne(Func<KvCache, OrtValue> select)
        {
            var data = new float[rows.Count * kvHeads * length * headDim];
            for (var i = 0; i < rows.Count; i++)
            {
                var (source, row, skip) = rows[i];
                var kept = source.Length - skip;
                var from = select(source).GetTensorDataAsSpan<float>();
                for (var h = 0; h < kvHeads; h++)
                {
                    var src = ((row * kvHeads + h) * source.Length + skip) * headDim;
                    var dst = ((i * kvHeads + h) * length + (length - kept)) * headDim;
                    from.Slice(src, kept * headDim).CopyTo(data.AsSpan(dst, kept * headDim));
                }
            }
            return OrtValue.CreateTensorValueFromMemory(data, [rows.Count, kvHeads, length, headDim]);
        }

        var layers = first.Layers;
        var keys = new OrtValue[layers];
        var values = new OrtValue[layers];
        for (var l = 0; l < layers; l++)
        {
            var layer = l;
            keys[l] = GatherOne(c => c._keys[layer]);
            values[l] = GatherOne(c => c._values[layer]);
        }
        return new KvCache(keys, values, rows.Count, length);
    }

    public void Dispose()
    {
        foreach (var v in _keys) v.Dispose();
        foreach (var v in _values) v.Dispose();
    }
}
