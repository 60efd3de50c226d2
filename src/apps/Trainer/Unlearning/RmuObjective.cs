using TorchSharp.Modules;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>
/// RMU (Li et al., "The WMDP Benchmark", Representation Misdirection for Unlearning). With h⁽ℓ⁾ the residual stream
/// after decoder layer ℓ:
/// <code>
/// L = mean_{forget answer positions} ‖h_θ⁽ℓ⁾ − c·u‖²/d + α·mean_{real retain positions} ‖h_θ⁽ℓ⁾ − h_ref⁽ℓ⁾‖²/d
/// </code>
/// u a fixed random unit vector (uniform in [0, 1)^d, normalised, as in the paper; drawn from the run's seed), h_ref the
/// frozen starting model, and, as in the paper, only the MLP weights of layers ℓ−2..ℓ trained, so everything above ℓ
/// still reads the scrambled forget representations with its original weights. The paper sets c by hand per model
/// and layer; here c = s·(mean ‖h_ref⁽ℓ⁾‖ over the forget answer positions), so one default s fits any model size.
/// </summary>
public sealed class RmuObjective : IDisposable
{
    private readonly LlamaForCausalLM _model, _reference;
    private readonly double _alpha;

    public RmuObjective(LlamaForCausalLM model, LlamaForCausalLM reference, IReadOnlyList<ChatExample> forget, int padId, GradientOptions o)
    {
        Layer = o.RmuLayer ?? DefaultLayer(model.Config.NumHiddenLayers);
        if (Layer < 1 || Layer > model.Config.NumHiddenLayers) throw new ArgumentException($"RMU layer {Layer} is not one of the model's layers 1..{model.Config.NumHiddenLayers}.");
        if (o.RmuSteering <= 0 || o.RmuAlpha < 0) throw new ArgumentException("RMU's steering coefficient must be positive and its retain weight at least 0.");
        (_model, _reference, _alpha) = (model, reference, o.RmuAlpha);
        Coefficient = o.RmuSteering * MeanNorm(reference, forget, padId, Layer);
        Target = (Coefficient * Direction(model.Config.HiddenSize, o.Training.Seed)).DetachFromDisposeScope();
        Trainable = TrainableParameters(model, Layer);
    }

    /// <summary>ℓ, counted from 1: the hidden state after this many decoder layers is steered.</summary>
    public int Layer { get; }
    /// <summary>c, in the units of the hidden state.</summary>
    public double Coefficient { get; }
    /// <summary>c·u, [hidden].</summary>
    public Tensor Target { get; }
    public IReadOnlyList<Parameter> Trainable { get; }

    /// <summary>Half the depth: the paper steers layer 7 of 32 of a model many times deeper than TOFU-mini's 4.</summary>
    public static int DefaultLayer(int layers) => Math.Max(1, layers / 2);

    /// <summary>The MLP weights of layers max(1, ℓ−2)..ℓ, made trainable; every other parameter frozen.</summary>
    public static IReadOnlyList<Parameter> TrainableParameters(LlamaForCausalLM model, int layer)
    {
        var prefixes = Enumerable.Range(Math.Max(1, layer - 2), Math.Min(layer, 3)).Select(l => $"model.layers.{l - 1}.mlp.").ToArray();
        var trainable = new List<Parameter>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            var train = prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
            parameter.requires_grad_(train);
            if (train) trainable.Add(parameter);
        }
        return trainable;
    }

    /// <summary>u: uniform in [0, 1)^d, normalised.</summary>
    public static Tensor Direction(long hidden, int seed)
    {
        var random = new Random(seed);
        var u = tensor(Enumerable.Range(0, (int)hidden).Select(_ => (float)random.NextDouble()).ToArray());
        return u / u.norm();
    }

    /// <summary>Mean ‖h⁽ℓ⁾‖ of <paramref name="model"/> over the answer positions of <paramref name="examples"/>.</summary>
    public static double MeanNorm(LlamaForCausalLM model, IReadOnlyList<ChatExample> examples, int padId, int layer)
    {
        using var noGrad = no_grad();
        double total = 0, count = 0;
        foreach (var chunk in examples.Chunk(32))
        {
            using var scope = NewDisposeScope();
            var batch = TrainingBatch.Create(chunk, padId);
            var hidden = model.ForwardWithHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds, layer).Hidden;
            var answer = batch.Targets.ne(TrainingBatch.Ignore).to(ScalarType.Float32);
            total += (hidden.norm(-1) * answer).sum().item<float>();
            count += answer.sum().item<float>();
        }
        return total / Math.Max(count, 1);
    }

    /// <summary>A step on forget batch <paramref name="f"/> and retain batch <paramref name="r"/>; reports both terms.</summary>
    public StepLoss Step(TrainingBatch f, TrainingBatch r)
    {
        var (logits, forgetHidden) = _model.ForwardWithHidden(f.InputIds, f.AttentionMask, f.PositionIds, Layer);
        var retainHidden = _model.ForwardWithHidden(r.InputIds, r.AttentionMask, r.PositionIds, Layer).Hidden;
        Tensor referenceHidden;
        using (no_grad()) referenceHidden = _reference.ForwardWithHidden(r.InputIds, r.AttentionMask, r.PositionIds, Layer).Hidden;
        var (loss, forget, retain) = Loss(forgetHidden, f.Targets.ne(TrainingBatch.Ignore), Target, retainHidden, referenceHidden, r.AttentionMask, _alpha);
        return new StepLoss(loss, forget.item<float>(), retain.item<float>(), Curvature: new OutputCurvature(logits, f.Targets));
    }

    /// <summary>The loss above, with its forget and (unweighted) retain terms.</summary>
    public static (Tensor Loss, Tensor Forget, Tensor Retain) Loss(Tensor forgetHidden, Tensor forgetMask, Tensor target, Tensor retainHidden,
        Tensor referenceHidden, Tensor retainMask, double alpha)
    {
        var forget = MaskedMeanSquare(forgetHidden - target, forgetMask);
        var retain = MaskedMeanSquare(retainHidden - referenceHidden, retainMask);
        return (forget + alpha * retain, forget, retain);
    }

    /// <summary>Σ_{t∈M} ‖x_t‖²/d / |M|: the paper's mean-squared error restricted to the positions in the mask.</summary>
    private static Tensor MaskedMeanSquare(Tensor difference, Tensor mask)
    {
        var m = mask.to(ScalarType.Float32);
        return (difference.pow(2).mean([-1L]) * m).sum() / m.sum().clamp_min(1);
    }

    public void Dispose() => Target.Dispose();
}
