using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// A linear layer (y = x·Wᵀ [+ b], W stored [out, in] as Hugging Face does; a bias only where the family has one,
/// e.g. Qwen2's q/k/v) with an optional LoRA adapter:
/// y += (dropout(x)·Aᵀ·Bᵀ)·α/r, A [r, in] small random, B [out, r] zero, so training starts from the frozen layer
/// exactly. <see cref="MergedWeight"/> folds the adapter into W for export.
/// </summary>
public sealed class LlamaLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;
    private Parameter? _loraA;
    private Parameter? _loraB;
    private double _scale;
    private double _dropout;

    public LlamaLinear(long inFeatures, long outFeatures, bool bias = false) : base(nameof(LlamaLinear))
    {
        _weight = nn.Parameter(empty(outFeatures, inFeatures).normal_(0, 0.02));
        register_parameter("weight", _weight);
        if (!bias) return;
        _bias = nn.Parameter(zeros(outFeatures));
        register_parameter("bias", _bias);
    }

    public Parameter Weight => _weight;
    public bool HasLora => _loraA is not null;

    public void AddLora(int rank, double alpha, double dropout)
    {
        if (HasLora) throw new InvalidOperationException("this layer already has a LoRA adapter.");
        var inFeatures = _weight.shape[1];
        _loraA = nn.Parameter(empty(rank, inFeatures).uniform_(-1.0 / Math.Sqrt(inFeatures), 1.0 / Math.Sqrt(inFeatures)));
        _loraB = nn.Parameter(zeros(_weight.shape[0], rank));
        register_parameter("lora_A", _loraA);
        register_parameter("lora_B", _loraB);
        (_scale, _dropout) = (alpha / rank, dropout);
    }

    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.linear(x, _weight, _bias);
        if (_loraA is null) return y;
        var input = training && _dropout > 0 ? nn.functional.dropout(x, _dropout, training) : x;
        return y + nn.functional.linear(nn.functional.linear(input, _loraA), _loraB!) * _scale;
    }

    /// <summary>W + (α/r)·B·A: the weight of a plain layer that computes what this one does at inference.</summary>
    public Tensor MergedWeight()
    {
        using var noGrad = no_grad();
        return _loraA is null ? _weight.detach().clone() : (_weight + _loraB!.matmul(_loraA) * _scale).detach();
    }
}
