using TorchSharp.Modules;
using Uld.Contracts;
using Uld.Trainer.Safetensors;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// Sophia-G, the clipped second-order optimizer of SOUL (Jia et al., "SOUL: Unlocking the Power of Second-Order
/// Optimization for LLM Unlearning"; Liu et al., "Sophia"). Per parameter, with g the step's gradient:
/// <code>
/// m ← β₁·m + (1 − β₁)·g
/// h ← β₂·h + (1 − β₂)·N·ĝ⊙ĝ                       on steps 0, k, 2k, …
/// θ ← θ·(1 − lr·λ) − lr·clip(m / max(γ·h, ε), −1, 1)
/// </code>
/// h estimates the Hessian diagonal by Gauss–Newton–Bartlett (the Sophia paper's choice, not Hutchinson): ĝ is the
/// gradient of the mean cross-entropy of the step's output logits against labels ŷ sampled from those logits' own
/// softmax, over the N answer positions. Its expectation is the Gauss–Newton diagonal of the output cross-entropy,
/// which does not depend on the unlearning loss's sign, so GA and NPO are preconditioned by the same curvature. The
/// clip bounds every coordinate's move by lr, where curvature is flat or the estimate is stale.
/// </summary>
public sealed class SophiaOptimizer : ITrainingOptimizer
{
    private const string StateFile = "sophia.safetensors";
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _moments, _hessians;
    private readonly double _weightDecay;
    private readonly SophiaOptions _o;
    private double _rate;

    public SophiaOptimizer(IReadOnlyList<Parameter> parameters, double learningRate, double weightDecay, SophiaOptions options)
    {
        if (options.HessianEvery < 1) throw new ArgumentException("Sophia's Hessian interval must be at least 1 step.");
        if (options.Gamma <= 0 || options.Epsilon <= 0) throw new ArgumentException("Sophia's γ and ε must be positive.");
        (_parameters, _rate, _weightDecay, _o) = (parameters, learningRate, weightDecay, options);
        // The state outlives every step's dispose scope.
        _moments = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _hessians = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>m, one tensor per parameter (read by tests).</summary>
    public IReadOnlyList<Tensor> Moments => _moments;
    /// <summary>h, one tensor per parameter (read by tests).</summary>
    public IReadOnlyList<Tensor> Hessians => _hessians;

    public void SetLearningRate(double rate) => _rate = rate;

    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>On a refresh step, the GNB estimate from the step's own forward pass (its graph is kept for the real backward).</summary>
    public void BeforeBackward(int step, StepLoss loss)
    {
        if (step % _o.HessianEvery != 0) return;
        var output = loss.Curvature
            ?? throw new InvalidOperationException("Sophia estimates curvature from the model's output distribution, and this method's step reports none.");
        using var scope = NewDisposeScope();
        var positions = output.Targets.view(-1).ne(TrainingBatch.Ignore).nonzero().squeeze(1);
        if (positions.shape[0] == 0) return;
        var logits = output.LogitsAt(positions);
        Tensor sampled;
        using (no_grad()) sampled = multinomial(nn.functional.softmax(logits, -1), 1).squeeze(1);
        nn.functional.cross_entropy(logits, sampled).backward(retain_graph: true);
        UpdateHessian(positions.shape[0]);
        ZeroGrad();
    }

    /// <summary>
    /// h ← β₂·h + (1 − β₂)·scale·g⊙g from the gradients the parameters hold: the GNB estimate when they hold the
    /// sampled-label gradient and <paramref name="scale"/> is the number of positions it averages over.
    /// </summary>
    public void UpdateHessian(double scale)
    {
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
            if (_parameters[i].grad is { } g) _hessians[i].mul_(_o.Beta2).addcmul_(g, g, value: (1 - _o.Beta2) * scale);
    }

    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var (p, m, h) = (_parameters[i], _moments[i], _hessians[i]);
            if (p.grad is not { } g) continue;
            m.mul_(_o.Beta1).add_(g, alpha: 1 - _o.Beta1);
            p.mul_(1 - _rate * _weightDecay);
            p.add_((m / (h * _o.Gamma).clamp_min(_o.Epsilon)).clamp(-1, 1), alpha: -_rate);
        }
    }

    public void Save(string directory) => SafetensorsFile.Write(Path.Combine(directory, StateFile),
        Enumerable.Range(0, _parameters.Count).SelectMany(i => new[] { Export($"m.{i}", _moments[i]), Export($"h.{i}", _hessians[i]) }));

    public void Load(string directory)
    {
        var path = Path.Combine(directory, StateFile);
        if (!File.Exists(path)) throw new UserErrorException($"the checkpoint in {directory} has no Sophia state ({StateFile}).");
        var stored = SafetensorsFile.Read(path).Tensors;
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            Restore(stored, $"m.{i}", _moments[i], path);
            Restore(stored, $"h.{i}", _hessians[i], path);
        }
    }

    private static SafeTensor Export(string name, Tensor state)
    {
        using var cpu = state.detach().cpu().contiguous();
        return SafeTensor.FromFloats(name, cpu.shape, cpu.data<float>().ToArray());
    }

    private static void Restore(IReadOnlyDictionary<string, SafeTensor> stored, string name, Tensor state, string path)
    {
        if (!stored.TryGetValue(name, out var t) || !t.Shape.SequenceEqual(state.shape) || t.Dtype != "F32")
            throw new UserErrorException($"{path} does not hold Sophia state {name} of shape [{string.Join(", ", state.shape)}]: another model's checkpoint.");
        state.bytes = t.Data;
    }
}
