using TorchSharp.Modules;
using Uld.Core.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear _gate, _up, _down;

    public LlamaMlp(LlamaConfig c) : base(nameof(LlamaMlp))
    {
        _gate = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        _up = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        _down = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
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
