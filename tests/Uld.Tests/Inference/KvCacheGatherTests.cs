using Uld.Inference;
using Uld.Tests.Support;

namespace Uld.Tests.Inference;

/// <summary>
/// <see cref="KvCache.Gather"/> on real ONNX Runtime caches: rows right-aligned with zero padding, skipped columns
/// dropped, and — what the scheduler relies on — decoding from a gathered batch gives each row the logits it gets alone.
/// </summary>
public sealed class KvCacheGatherTests : IDisposable
{
    private readonly OnnxCausalLm _model = new(Path.Combine(RepositoryModels.Target, "onnx", "model.onnx"));

    public void Dispose() => _model.Dispose();

    private static readonly int[] Long = [1, 330, 441, 285, 312, 299, 377];
    private static readonly int[] Short = [1, 412, 290];

    private DecoderStep Prefill(IReadOnlyList<int> prompt)
    {
        using var empty = _model.EmptyCache(1);
        return _model.Run(prompt.Select(t => (long)t).ToArray(), Ones(prompt.Count), Positions(0, prompt.Count), 1, empty);
    }

    [Fact]
    public void Rows_are_right_aligned_behind_zero_padding_and_skipped_columns_are_dropped()
    {
        using var longCache = Prefill(Long).Present;
        using var shortCache = Prefill(Short).Present;
        using var gathered = KvCache.Gather([(longCache, 0, 0), (shortCache, 0, 0)], Long.Length);
        Assert.Equal((2, Long.Length, _model.Layers), (gathered.Batch, gathered.Length, gathered.Layers));

        var padding = Long.Length - Short.Length;
        for (var layer = 0; layer < _model.Layers; layer++)
        {
            foreach (var (pick, name) in new (Func<KvCache, Microsoft.ML.OnnxRuntime.OrtValue>, string)[] { (c => c.Key(layer), "key"), (c => c.Value(layer), "value") })
            {
                for (var head = 0; head < _model.KvHeads; head++)
                {
                    for (var t = 0; t < Long.Length; t++)
                    {
                        Assert.Equal(Column(pick(longCache), 0, head, t), Column(pick(gathered), 0, head, t));
                        var expected = t < padding ? new float[_model.HeadDim] : Column(pick(shortCache), 0, head, t - padding);
                        Assert.True(expected.SequenceEqual(Column(pick(gathered), 1, head, t)), $"{name} {layer}, head {head}, column {t}");
                    }
                }
            }
        }

        // Skipping columns keeps the rest: the last three positions of the long row.
        using var trimmed = KvCache.Gather([(longCache, 0, Long.Length - 3)], 3);
        for (var t = 0; t < 3; t++) Assert.Equal(Column(longCache.Key(1), 0, 1, Long.Length - 3 + t), Column(trimmed.Key(1), 0, 1, t));
    }

    [Fact]
    public void Decoding_from_a_gathered_batch_matches_decoding_each_row_alone()
    {
        var longStep = Prefill(Long);
        var shortStep = Prefill(Short);
        using var longCache = longStep.Present;
        using var shortCache = shortStep.Present;
        var next = new[] { GreedyDecoder.ArgMax(longStep.Row(0, Long.Length - 1)), GreedyDecoder.ArgMax(shortStep.Row(0, Short.Length - 1)) };

        var aloneLong = _model.Run([next[0]], Ones(Long.Length + 1), [Long.Length], 1, longCache);
        var aloneShort = _model.Run([next[1]], Ones(Short.Length + 1), [Short.Length], 1, shortCache);
        aloneLong.Present.Dispose();
        aloneShort.Present.Dispose();

        using var batch = KvCache.Gather([(longCache, 0, 0), (shortCache, 0, 0)], Long.Length);
        var padding = Long.Length - Short.Length;
        long[] mask = [.. Ones(Long.Length + 1), .. Enumerable.Repeat(0L, padding), .. Ones(Short.Length + 1)];
        var together = _model.Run([next[0], next[1]], mask, [Long.Length, Short.Length], 2, batch);
        together.Present.Dispose();

        AssertClose(aloneLong.Row(0, 0), together.Row(0, 0));
        AssertClose(aloneShort.Row(0, 0), together.Row(1, 0));
    }

    [Fact]
    public void Rows_that_do_not_fit_or_do_not_exist_are_refused()
    {
        using var longCache = Prefill(Long).Present;
        Assert.Throws<ArgumentException>(() => KvCache.Gather([], 4));
        Assert.Contains("does not fit", Assert.Throws<ArgumentException>(() => KvCache.Gather([(longCache, 0, 0)], Long.Length - 1)).Message);
        Assert.Throws<ArgumentException>(() => KvCache.Gather([(longCache, 1, 0)], Long.Length)); // batch of one
        Assert.Throws<ArgumentException>(() => KvCache.Gather([(longCache, 0, -1)], Long.Length + 1));
    }

    /// <summary>The head_dim floats of (row, head, position) of a [batch, kv_heads, length, head_dim] tensor.</summary>
    private float[] Column(Microsoft.ML.OnnxRuntime.OrtValue tensor, int row, int head, int position)
    {
        var shape = tensor.GetTensorTypeAndShape().Shape;
        var (heads, length, dim) = ((int)shape[1], (int)shape[2], (int)shape[3]);
        return tensor.GetTensorDataAsSpan<float>().Slice(((row * heads + head) * length + position) * dim, dim).ToArray();
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst < 1e-4f, $"logits differ by up to {worst}");
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();
    private static long[] Positions(int from, int n) => Enumerable.Range(from, n).Select(p => (long)p).ToArray();
}
