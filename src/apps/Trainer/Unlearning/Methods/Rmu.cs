using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// rmu: <see cref="RmuObjective"/> — steers the hidden states of layer ℓ on forget answers towards a random direction
/// while keeping retain hidden states; only the MLPs of layers ℓ−2..ℓ train. Its loss is the objective's, on hidden
/// states, so <see cref="GradientUnlearner"/> runs it through <see cref="RmuObjective"/> rather than <see cref="Loss"/>.
/// </summary>
public sealed class Rmu : ForgetTerm
{
    /// <summary>
    /// RMU's learning rate when none is given: it trains a few MLPs towards a target in hidden-state units, which at
    /// the shared 5e-4 barely moves in the few steps of TOFU-mini (measured on the micro split of the tests).
    /// </summary>
    public const double LearningRate = 1e-2;

    public override string Name => "rmu";
    public override string Summary => "representation misdirection (WMDP): layer ℓ's forget hidden states to a random direction (--rmu-layer, --rmu-steering, --rmu-alpha)";
    public override IReadOnlyList<string> RetainTerms { get; } = [""];
    public override bool ReadsRetain => true;
    public override bool OnLogits => false;
    public override GradientOptions Defaults(GradientOptions shared) => shared with { Training = shared.Training with { LearningRate = LearningRate } };
    public override Tensor Loss(ForgetStep s) => throw new InvalidOperationException("rmu's loss is RmuObjective.Step, on hidden states.");
}
