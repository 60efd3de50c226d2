using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Onnx;

/// <summary>docs/DESIGN.md, Contract 2, exactness: ONNX Runtime against TorchSharp, and cached decoding against full recomputation.</summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class ExportParityTests(Stories260KFixture fixture)
{
    private const double Bound = 1e-4;

    /// <summary>A left-padded batch: row r holds lengths[r] real tokens after (max − lengths[r]) padding slots.</summary>
    private sealed record Batch(long[] Ids, long[] Mask, long[] Positions, int Rows, int Length)
    {
        public static Batch LeftPadded(int[] lengths, int vocab, int seed)
        {
            var random = new Random(seed);
            var length = lengths.Max();
            var (ids, mask, positions) = (new long[lengths.Length * length], new long[lengths.Length * length], new long[lengths.Length * length]);
            for (var r = 0; r < lengths.Length; r++)
            {
                var pad = length - lengths[r];
                for (var t = 0; t < length; t++)
                {
                    var i = r * length + t;
                    (ids[i], mask[i], positions[i]) = t < pad ? (0L, 0L, 1L) : (random.Next(3, vocab), 1L, t - pad);
                }
            }
            return new Batch(ids, mask, positions, lengths.Length, length);
        }
    }

    [Fact]
    public void Onnx_logits_match_TorchSharp_on_a_left_padded_batch()
    {
        var vocab = fixture.Model.Config.VocabSize;
        var batch = Batch.LeftPadded([16, 11, 3], vocab, seed: 7);
        using var session = new OnnxCausalLm(fixture.Model.OnnxPath);
        using var empty = session.EmptyCache(batch.Rows);
        var ort = session.Run(batch.Ids, batch.Mask, batch.Positions, batch.Rows, empty);
        ort.Present.Dispose();
        var torchLogits = TorchLogits(batch);

        var compared = 0;
        var maxDiff = 0.0;
        for (var i = 0; i < batch.Ids.Length; i++)
        {
            if (batch.Mask[i] == 0) continue;
            for (var v = 0; v < vocab; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(ort.Logits[i * vocab + v] - torchLogits[i * vocab + v]));
                compared++;
            }
        }
        Assert.Equal((16 + 11 + 3) * vocab, compared);
        Assert.InRange(maxDiff, 0, Bound);
    }

    [Fact]
    public void Left_padding_does_not_change_a_rows_logits()
    {
        var vocab = fixture.Model.Config.VocabSize;
        var padded = Batch.LeftPadded([5, 12], vocab, seed: 3);
        var alone = new Batch(padded.Ids[7..12], [1, 1, 1, 1, 1], [0, 1, 2, 3, 4], 1, 5);
        using var session = new OnnxCausalLm(fixture.Model.OnnxPath);
        using var emptyPadded = session.EmptyCache(2);
        using var emptyAlone = session.EmptyCache(1);
        var a = session.Run(padded.Ids, padded.Mask, padded.Positions, 2, emptyPadded);
        var b = session.Run(alone.Ids, alone.Mask, alone.Positions, 1, emptyAlone);
        a.Present.Dispose();
        b.Present.Dispose();
        Assert.InRange(MaxDiff(a.Row(0, 11), b.Row(0, 4)), 0, Bound);
    }

    [Fact]
    public void Onnx_prefill_plus_20_cached_steps_equals_full_recomputation()
    {
        var vocab = fixture.Model.Config.VocabSize;
        var prompt = Batch.LeftPadded([9, 4], vocab, seed: 11);
        using var session = new OnnxCausalLm(fixture.Model.OnnxPath);
        using var empty = session.EmptyCache(prompt.Rows);
        var step = session.Run(prompt.Ids, prompt.Mask, prompt.Positions, prompt.Rows, empty);

        var sequence = prompt;
        var maxDiff = 0.0;
        try
        {
            for (var s = 0; s < 20; s++)
            {
                // Greedy next tokens from the cached step, then the same sequence recomputed from scratch.
                var next = Enumerable.Range(0, prompt.Rows).Select(r => (long)GreedyDecoder.ArgMax(step.Row(r, step.Sequence - 1))).ToArray();
                var nextPositions = Enumerable.Range(0, prompt.Rows).Select(r => sequence.Positions[r * sequence.Length + sequence.Length - 1] + 1).ToArray();
                sequence = Append(sequence, next, nextPositions);

                var cached = session.Run(next, sequence.Mask, nextPositions, prompt.Rows, step.Present);
                step.Present.Dispose();
                step = cached;

                using var fresh = session.EmptyCache(prompt.Rows);
                var full = session.Run(sequence.Ids, sequence.Mask, sequence.Positions, prompt.Rows, fresh);
                full.Present.Dispose();
                for (var r = 0; r < prompt.Rows; r++)
                    maxDiff = Math.Max(maxDiff, MaxDiff(step.Row(r, 0), full.Row(r, sequence.Length - 1)));
            }
        }
        finally
        {
            step.Present.Dispose();
        }
        Assert.Equal(prompt.Length + 20, sequence.Length);
        Assert.InRange(maxDiff, 0, Bound);
    }

    [Fact]
    public void TorchSharp_prefill_plus_20_cached_steps_equals_full_recomputation()
    {
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[] { 1, 403, 407, 261, 378, 290, 259 }, [1, 7]);
        var (logits, cache) = model.Forward(ids, ones(1, 7, dtype: ScalarType.Int64), arange(7L).unsqueeze(0));
        var all = ids;
        var maxDiff = 0.0;
        for (var s = 0; s < 20; s++)
        {
            var next = logits[0, -1].argmax().reshape(1, 1);
            all = cat([all, next], 1);
            var length = all.shape[1];
            (logits, cache) = model.Forward(next, ones(1, length, dtype: ScalarType.Int64), tensor(new[] { length - 1 }, [1, 1]), cache);
            var full = model.Logits(all);
            maxDiff = Math.Max(maxDiff, (logits[0, -1] - full[0, -1]).abs().max().item<float>());
        }
        Assert.InRange(maxDiff, 0, Bound);
    }

    private float[] TorchLogits(Batch batch)
    {
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (logits, _) = model.Forward(tensor(batch.Ids, [batch.Rows, batch.Length]), tensor(batch.Mask, [batch.Rows, batch.Length]),
            tensor(batch.Positions, [batch.Rows, batch.Length]));
        return logits.contiguous().data<float>().ToArray();
    }

    private static Batch Append(Batch b, long[] next, long[] positions)
    {
        var length = b.Length + 1;
        var (ids, mask, pos) = (new long[b.Rows * length], new long[b.Rows * length], new long[b.Rows * length]);
        for (var r = 0; r < b.Rows; r++)
        {
            Array.Copy(b.Ids, r * b.Length, ids, r * length, b.Length);
            Array.Copy(b.Mask, r * b.Length, mask, r * length, b.Length);
            Array.Copy(b.Positions, r * b.Length, pos, r * length, b.Length);
            (ids[r * length + b.Length], mask[r * length + b.Length], pos[r * length + b.Length]) = (next[r], 1, positions[r]);
        }
        return new Batch(ids, mask, pos, b.Rows, length);
    }

    private static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var max = 0.0;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    [Theory]
    [InlineData(5e-5, 5e-7, true)] // within the absolute bound
    [InlineData(1.41e-4, 1.4e-6, true)] // a gradient-ascent model's logits near ±100: float32 rounding, not a bug
    [InlineData(1.41e-4, 1e-4, false)] // the same difference on logits near ±1
    [InlineData(0.5, 5e-3, false)]
    [InlineData(double.NaN, double.NaN, false)]
    public void Float32_graphs_agree_within_the_absolute_or_the_relative_bound(double maxAbsDiff, double relative, bool agrees) =>
        Assert.Equal(agrees, Uld.Trainer.Onnx.OnnxExport.Float32Agrees(new Uld.Trainer.Onnx.OnnxExport.Drift(maxAbsDiff, relative), 1e-4));
}
