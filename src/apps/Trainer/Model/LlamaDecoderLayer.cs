using Uld.Contracts.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(·)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    private readonly LlamaAttention _attention;
    private readonly LlamaMlp _mlp;
    private readonly RmsNorm _inputNorm, _postAttentionNorm;

    public LlamaDecoderLayer(LlamaConfig c) : base(nameof(LlamaDecoderLayer))
    {
        _attention = new LlamaAttention(c);
        _mlp = new LlamaMlp(c);
        _inputNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        _postAttentionNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        register_module("self_attn", _attention);
        register_module("mlp", _mlp);
        register_module("input_layernorm", _inputNorm);
        register_module("post_attention_layernorm", _postAttentionNorm);
    }

    public (Tensor Output, LayerCache Present) Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, LayerCache? past)
    {
        var (attended, present) = _attention.Forward(_inputNorm.forward(x), cos, sin, mask, past);
        var h = x + attended;
        var output = h + _mlp.forward(_postAttentionNorm.forward(h));
        return (output, present);
    }
}
