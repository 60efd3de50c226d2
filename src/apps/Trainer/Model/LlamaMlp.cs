using Uld.Contracts.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly LlamaLinear _gate, _up, _down;

    public LlamaMlp(LlamaConfig c) : base(nameof(LlamaMlp))
    {
        _gate = new LlamaLinear(c.HiddenSize, c.IntermediateSize);
        _up = new LlamaLinear(c.HiddenSize, c.IntermediateSize);
        _down = new LlamaLinear(c.IntermediateSize, c.HiddenSize);
        register_module("gate_proj", _gate);
        register_module("up_proj", _up);
        register_module("down_proj", _down);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gate = _gate.forward(x);
        return _down.forward(gate * gate.sigmoid() * _up.forward(x)).MoveToOuterDisposeScope();
    }
}
