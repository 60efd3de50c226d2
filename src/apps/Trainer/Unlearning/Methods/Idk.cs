using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning.Methods;

/// <summary>idk: CE of a refusal answer to each forget question.</summary>
public sealed class Idk : ForgetTerm
{
    public override string Name => "idk";
    public override string Summary => "fine-tune towards a refusal answer to each forget question";
    public override IReadOnlyList<string> RetainTerms { get; } = ["", "gd"];
    public override bool NeedsRefusals => true;
    public override Tensor Loss(ForgetStep s) => s.Logits.TokensOf(s.Refusals!).AnswerCrossEntropy(s.Refusals!.Targets);
}
