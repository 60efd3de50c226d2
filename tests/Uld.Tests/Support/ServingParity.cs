using Uld.Contracts.Models;
using Uld.Inference;

namespace Uld.Tests.Support;

/// <summary>
/// The serving graph of a model directory against its onnx/model.onnx: prompts of different lengths prefilled each
/// into its own slot, then decode steps of all of them in one batch, compared with each prompt run alone through
/// <see cref="OnnxCausalLm"/> (prefill, then one cached step per token). Returns the largest |logit difference| seen
/// and how many logits were compared.
/// </summary>
public static class ServingParity
{
    public static (double MaxDiff, long Compared) Measure(ModelDirectory directory, int[] promptLengths, int decodeSteps, int seed)
    {
        using var reference = new OnnxCausalLm(directory.OnnxPath);
        using var serving = new ServingCausalLm(directory.ServingOnnxPath);
        var random = new Random(seed);
        var vocab = reference.Vocab;
        var prompts = promptLengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(3, vocab)).ToArray()).ToArray();
        var continuations = prompts.Select(_ => Enumerable.Range(0, decodeSteps).Select(_ => random.Next(3, vocab)).ToArray()).ToArray();

        using var slots = serving.CreateSlots(prompts.Length + 1, promptLengths.Max() + decodeSteps);
        var expected = prompts.Select((p, i) => Alone(reference, p, continuations[i])).ToArray();
        double max = 0;
        long compared = 0;
        void Compare(ReadOnlySpan<float> actual, ReadOnlySpan<float> wanted)
        {
            for (var v = 0; v < vocab; v++) max = Math.Max(max, Math.Abs(actual[v] - wanted[v]));
            compared += vocab;
        }

        // Slot 0 stays free: rows 1.. sit behind a padding row, as after a release.
        Assert.True(slots.TryAcquire(out var spare));
        var owned = new int[prompts.Length];
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.True(slots.TryAcquire(out owned[i]));
            var step = serving.Extend(slots, owned[i], prompts[i], LogitPositions.All);
            for (var t = 0; t < prompts[i].Length; t++) Compare(step.Row(0, t), expected[i][t]);
        }
        slots.Release(spare);
        for (var s = 0; s < decodeSteps; s++)
        {
            var step = serving.Decode(slots, owned, continuations.Select(c => c[s]).ToArray());
            for (var i = 0; i < prompts.Length; i++) Compare(step.Row(i, 0), expected[i][prompts[i].Length + s]);
        }
        return (max, compared);
    }

    /// <summary>model.onnx's logits for every position of prompt + continuation: a prefill, then one cached step per token.</summary>
    private static float[][] Alone(OnnxCausalLm model, int[] prompt, int[] continuation)
    {
        var rows = new List<float[]>();
        var cache = model.EmptyCache(1);
        try
        {
            var tokens = prompt;
            var past = 0;
            foreach (var next in continuation.Prepend(-1))
            {
                if (next >= 0) tokens = [next];
                var ids = tokens.Select(t => (long)t).ToArray();
                var step = model.Run(ids, Enumerable.Repeat(1L, past + ids.Length).ToArray(),
                    Enumerable.Range(past, ids.Length).Select(p => (long)p).ToArray(), 1, cache);
                cache.Dispose();
                cache = step.Present;
                for (var t = 0; t < ids.Length; t++) rows.Add(step.Row(0, t).ToArray());
                past += ids.Length;
            }
        }
        finally
        {
            cache.Dispose();
        }
        return [.. rows];
    }
}
