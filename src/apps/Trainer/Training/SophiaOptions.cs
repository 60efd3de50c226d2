namespace Uld.Trainer.Training;

/// <summary>
/// Sophia's settings (Liu et al., "Sophia: A Scalable Stochastic Second-order Optimizer for Language Model
/// Pre-training"; the second-order optimizer SOUL unlearns with). Defaults are the Sophia reference code's.
/// </summary>
public sealed record SophiaOptions
{
    /// <summary>β₁: EMA of the gradient.</summary>
    public double Beta1 { get; init; } = 0.965;
    /// <summary>β₂: EMA of the Hessian-diagonal estimate.</summary>
    public double Beta2 { get; init; } = 0.99;
    /// <summary>γ (ρ in the reference code): scale of the Hessian in the preconditioner max(γ·h, ε).</summary>
    public double Gamma { get; init; } = 0.04;
    /// <summary>ε: floor of the preconditioner, so a zero curvature estimate gives a sign step, not a division by zero.</summary>
    public double Epsilon { get; init; } = 1e-12;
    /// <summary>k: the Hessian estimate is refreshed on steps 0, k, 2k, … (it costs one more backward pass).</summary>
    public int HessianEvery { get; init; } = 10;
}
