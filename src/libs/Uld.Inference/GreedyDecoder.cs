namespace Uld.Inference;

/// <summary>Greedy decoding of one sequence through an <see cref="OnnxCausalLm"/> with its KV cache: prefill once, then one token per step.</summary>
public static class GreedyDecoder
{
    public static List<int> Generate(OnnxCausalLm model, IReadOnlyList<int> prompt, int maxNewTokens, int? eosId = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt must hold at least one token (e.g. BOS).", nameof(prompt));
        var generated = new List<int>();
        var ids = prompt.Select(t => (long)t).ToArray();
        var positions = Enumerable.Range(0, ids.Length).Select(p => (long)p).ToArray();
        var cache = model.EmptyCache(1);
        try
        {
            for (var step = 0; step < maxNewTokens; step++)
            {
                var total = cache.Length + ids.Length;
                var result = model.Run(ids, Enumerable.Repeat(1L, total).ToArray(), positions, 1, cache, LogitPositions.Last);
                cache.Dispose();
                cache = result.Present;
                var next = ArgMax(result.Row(0, result.Sequence - 1));
                if (next == eosId) break;
                generated.Add(next);
                ids = [next];
                positions = [total];
            }
        }
        finally
        {
            cache.Dispose();
        }
        return generated;
    }

    /// <summary>Index of the largest value; the first one on ties, as torch.argmax and llama2.c do.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }
        return best;
    }
}
