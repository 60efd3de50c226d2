using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>Root-mean-square layer norm: x · w / sqrt(mean(x²) + ε), computed in the same order as the ONNX export.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly double _eps;

    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        _weight = nn.Parameter(ones(dim));
        register_parameter("weight", _weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = (x * x).mean([-1L], keepdim: true);
        return (x * (variance + _eps).sqrt().reciprocal() * _weight).MoveToOuterDisposeScope();
    }
}
