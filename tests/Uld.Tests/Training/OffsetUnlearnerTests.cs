using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Uld.Tests.Training;

/// <summary>
/// An offset pair trained on a micro split: a target and a smaller model trained on the same data, the smaller one
/// copied and unlearned; the base plus the pair's offset must find the forget answers less likely than the base.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class OffsetUnlearnerTests(ITestOutputHelper output)
{
    [Fact]
    public void A_trained_offset_pair_moves_the_forget_probability_down_and_the_retain_probability_less()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0]);
        var pad = micro.Pad;
        var (forget, retain) = (micro.Examples(micro.ForgetRecords), micro.Examples(micro.RetainRecords));
        using var target = Train(micro, micro.TinyConfig(), forget, retain);
        using var small = Train(micro, micro.TinyConfig(hidden: 32, layers: 1), forget, retain);
        using var unlearned = CopyOf(small);
        OffsetUnlearner.Unlearn("offset-npo+kl", unlearned, small, new ForgetData(forget), retain,
            new GradientOptions { Epochs = 4, BatchSize = 8, LearningRate = 2e-3, Seed = 1 }, pad);

        var (forgetBase, forgetOffset) = (AnswerNll(target, null, forget, pad), AnswerNll(target, (unlearned, small), forget, pad));
        var (retainBase, retainOffset) = (AnswerNll(target, null, retain, pad), AnswerNll(target, (unlearned, small), retain, pad));
        var report = $"forget NLL {forgetBase:F2} → {forgetOffset:F2}, retain NLL {retainBase:F2} → {retainOffset:F2}";
        output.WriteLine(report);
        Assert.True(forgetOffset > forgetBase + 0.5, $"the offset should make forget answers less likely — {report}");
        Assert.True(retainOffset - retainBase < forgetOffset - forgetBase, $"the offset should hurt retain answers less — {report}");
        Assert.Throws<ArgumentException>(() => OffsetUnlearner.GradientMethod("offset-ga"));
    }

    /// <summary>Mean answer-token NLL of l_base + (l_unlearned − l_reference), or of the base alone (β = 1, as in the method).</summary>
    private static double AnswerNll(LlamaForCausalLM baseModel, (LlamaForCausalLM Unlearned, LlamaForCausalLM Reference)? offset, List<ChatExample> examples, int pad)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var batch = TrainingBatch.Create(examples, pad);
        Tensor Logits(LlamaForCausalLM m) => m.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds).Logits;
        var logits = Logits(baseModel);
        if (offset is { } pair) logits = logits + (Logits(pair.Unlearned) - Logits(pair.Reference));
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Targets.view(-1), ignore_index: TrainingBatch.Ignore).item<float>();
    }

    private static LlamaForCausalLM Train(MicroSplit micro, LlamaConfig config, List<ChatExample> forget, List<ChatExample> retain)
    {
        var model = new LlamaForCausalLM(config);
        CausalLmTrainer.Initialize(model, 5);
        CausalLmTrainer.Train(model, [.. forget, .. retain], new TrainingOptions { Epochs = 20, BatchSize = 8, LearningRate = 1e-2, Seed = 5 }, micro.Pad, null, false);
        return model;
    }

    private static LlamaForCausalLM CopyOf(LlamaForCausalLM source)
    {
        var model = new LlamaForCausalLM(source.Config);
        LlamaWeights.Load(model, LlamaWeights.Export(source).ToDictionary(t => t.Name), "small");
        return model;
    }
}
