using Uld.Inference.Sampling;
using Uld.Inference;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// Decoding with the TorchSharp model and its KV cache: greedy (the reference the ONNX path is checked against), or
/// sampled by a <see cref="TokenSampler"/> when given one (the model's own text, e.g. as a retain set).
/// </summary>
public static class TorchDecoding
{
    public static List<int> Generate(LlamaForCausalLM model, IReadOnlyList<int> prompt, int maxNewTokens, int? eosId = null, TokenSampler? sampler = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var generated = new List<int>();
        var ids = tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Count]);
        var positions = arange(prompt.Count, dtype: ScalarType.Int64).unsqueeze(0);
        LayerCache[]? cache = null;
        var total = 0L;
        for (var step = 0; step < maxNewTokens; step++)
        {
            total += ids.shape[1];
            var (logits, present) = model.Forward(ids, ones(1, total, dtype: ScalarType.Int64), positions, cache);
            cache = present;
            var last = logits[0, -1].contiguous().data<float>().ToArray();
            var next = sampler?.Next(last) ?? GreedyDecoder.ArgMax(last);
            if (next == eosId) break;
            generated.Add(next);
            ids = tensor(new long[] { next }, [1, 1]);
            positions = tensor(new[] { total }, [1, 1]);
        }
        return generated;
    }
}
