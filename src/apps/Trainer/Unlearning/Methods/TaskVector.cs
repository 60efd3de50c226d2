using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>
/// task-vector: fine-tune on the forget set to θ*, then θ = θ_c − s·(θ* − θ_c) (<see cref="GradientUnlearner"/> negates
/// the update once the run has finished; s: --task-vector-scale).
/// </summary>
public sealed class TaskVector : ForgetTerm
{
    public override string Name => "task-vector";
    public override string Summary => "fine-tune on the forget set, then subtract the update (s: --task-vector-scale)";
    public override IReadOnlyList<string> RetainTerms { get; } = [""];
    public override bool OnLogits => false; // the last move is on the weights
    public override Tensor Loss(ForgetStep s) => s.Logits.TokensOf(s.Forget).AnswerCrossEntropy(s.Forget.Targets);
}
