using Uld.Contracts.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>One layer's key/value cache: [batch, kv_heads, length, head_dim] each.</summary>
public readonly record struct LayerCache(Tensor Key, Tensor Value);

/// <summary>
/// Grouped-query self-attention with rotary embeddings and an optional key/value cache; q/k/v biases (Qwen2,
/// attention_bias) and per-head RMS norms on queries and keys before the rotation (Qwen3) where the family has them.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    /// <summary>
    /// Masked scores are replaced (not offset) by this finite value: a fully masked row (a left-padding query)
    /// then gets a uniform, finite softmax instead of NaN, which would otherwise leak into real rows through V.
    /// </summary>
    public const float MaskedScore = -1e9f;

    /// <summary>
    /// <see cref="MaskedScore"/> as one long-lived native scalar. An implicit float → Scalar conversion at the call makes a
    /// temporary that nothing keeps alive once its handle is passed to libtorch, so the GC may finalize (free) it while
    /// masked_fill still reads it: under memory pressure that surfaced as libtorch's "toFloat" check failing mid-forward.
    /// </summary>
    private static readonly TorchSharp.Scalar MaskedScoreScalar = (TorchSharp.Scalar)MaskedScore;

    private readonly LlamaLinear _q, _k, _v, _o;
    private readonly RmsNorm? _qNorm, _kNorm;
    private readonly int _heads, _kvHeads, _headDim;

    public LlamaAttention(LlamaConfig c) : base(nameof(LlamaAttention))
    {
        _heads = c.NumAttentionHeads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _q = new LlamaLinear(c.HiddenSize, _heads * _headDim, c.QkvBias);
        _k = new LlamaLinear(c.HiddenSize, _kvHeads * _headDim, c.QkvBias);
        _v = new LlamaLinear(c.HiddenSize, _kvHeads * _headDim, c.QkvBias);
        _o = new LlamaLinear(_heads * _headDim, c.HiddenSize, c.OutputBias);
        register_module("q_proj", _q);
        register_module("k_proj", _k);
        register_module("v_proj", _v);
        register_module("o_proj", _o);
        if (!c.QkNorm) return;
        _qNorm = new RmsNorm(_headDim, c.RmsNormEps);
        _kNorm = new RmsNorm(_headDim, c.RmsNormEps);
        register_module("q_norm", _qNorm);
        register_module("k_norm", _kNorm);
    }

    /// <param name="x">[batch, seq, hidden]</param>
    /// <param name="cos">[batch, 1, seq, head_dim]</param>
    /// <param name="sin">[batch, 1, seq, head_dim]</param>
    /// <param name="mask">bool [batch, 1, seq, past + seq]; true = may attend</param>
    /// <param name="past">this layer's cache, or null for a pass without one</param>
    public (Tensor Output, LayerCache Present) Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, LayerCache? past)
    {
        var (batch, seq) = (x.shape[0], x.shape[1]);
        var q = Normalized(_qNorm, _q.forward(x).view(batch, seq, _heads, _headDim)).transpose(1, 2);
        var k = Normalized(_kNorm, _k.forward(x).view(batch, seq, _kvHeads, _headDim)).transpose(1, 2);
        var v = _v.forward(x).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (past is { } cache)
        {
            k = cat([cache.Key, k], 2);
            v = cat([cache.Value, v], 2);
        }
        var present = new LayerCache(k, v);

        var scores = q.matmul(RepeatKv(k).transpose(2, 3)) * (float)(1.0 / Math.Sqrt(_headDim));
        scores = scores.masked_fill(mask.logical_not(), MaskedScoreScalar);
        var context = nn.functional.softmax(scores, -1).matmul(RepeatKv(v));
        var output = _o.forward(context.transpose(1, 2).reshape(batch, seq, _heads * _headDim));
        return (output, present);
    }

    private static Tensor Normalized(RmsNorm? norm, Tensor heads) => norm is null ? heads : norm.forward(heads);

    /// <summary>[b, kv, t, d] → [b, heads, t, d]: each key/value head serves heads/kv consecutive query heads.</summary>
    private Tensor RepeatKv(Tensor x)
    {
        var repeats = _heads / _kvHeads;
        if (repeats == 1) return x;
        var (b, t) = (x.shape[0], x.shape[2]);
        return x.unsqueeze(2).expand(b, _kvHeads, repeats, t, _headDim).reshape(b, _heads, t, _headDim);
    }
}
