using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>Unlearning stopped at a checkpoint and resumed gives the very weights of an uninterrupted run.</summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class UnlearnResumeTests
{
    [Fact]
    public void Resumed_gradient_and_uld_unlearning_equal_uninterrupted_runs()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0]);
        using var temp = new TempDirectory();
        var pad = micro.Pad;
        var (forget, retain) = (micro.Examples(micro.ForgetRecords), micro.Examples(micro.RetainRecords));
        using var target = micro.Initialized(seed: 5);
        var weights = LlamaWeights.Export(target).ToDictionary(t => t.Name);
        LlamaForCausalLM Copy()
        {
            var model = new LlamaForCausalLM(target.Config);
            LlamaWeights.Load(model, weights, "target");
            return model;
        }

        // NPO+GD: reference model, retain cycling and AdamW moments must all continue where they stopped.
        var gradient = new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 2) };
        using var full = Copy();
        using var fullReference = Copy();
        GradientUnlearner.Unlearn("npo+gd", full, fullReference, new ForgetData(forget), retain, gradient, pad);
        using (var stopped = Copy())
        using (var reference = Copy())
        {
            var partial = GradientUnlearner.Unlearn("npo+gd", stopped, reference, new ForgetData(forget), retain, gradient, pad,
                checkpoints: new CheckpointPlan(temp["npo"], Every: 0, StopAfter: 3));
            Assert.Equal(3, partial.Steps);
        }
        using var resumed = Copy();
        using var resumedReference = Copy();
        var rest = GradientUnlearner.Unlearn("npo+gd", resumed, resumedReference, new ForgetData(forget), retain, gradient, pad,
            checkpoints: new CheckpointPlan(temp["npo"], Resume: true));
        Assert.Equal(2 * (forget.Count + 7) / 8, rest.Steps);
        AssertSameWeights(full, resumed);

        // ULD with LoRA dropout: the dropout masks are drawn per step, so they too repeat after a resume.
        var uldSets = UldData.Build(Corpus.QuestionAnswers(micro.ForgetRecords), Corpus.QuestionAnswers(micro.RetainRecords), micro.Tokenizer, ChatTemplate.QuestionAnswer, seed: 3);
        var uld = new UldOptions { Rank = 4, LoraAlpha = 8, LoraDropout = 0.1, MinSteps = 0, Training = new() { Epochs = 2, BatchSize = 8, LearningRate = 1e-2, Seed = 3 } };
        using var fullAssistant = LayerTruncation.FirstLayers(target, 1);
        UldAssistantTrainer.Train(fullAssistant, uldSets, uld, pad);
        using (var stoppedAssistant = LayerTruncation.FirstLayers(target, 1))
            Assert.Equal(2, UldAssistantTrainer.Train(stoppedAssistant, uldSets, uld, pad, checkpoints: new CheckpointPlan(temp["uld"], Every: 0, StopAfter: 2)).Steps);
        using var resumedAssistant = LayerTruncation.FirstLayers(target, 1);
        UldAssistantTrainer.Train(resumedAssistant, uldSets, uld, pad, checkpoints: new CheckpointPlan(temp["uld"], Resume: true));
        AssertSameWeights(fullAssistant, resumedAssistant);

        // A checkpoint of another run is refused rather than silently mixed in.
        using var other = Copy();
        using var otherReference = Copy();
        Assert.Throws<Uld.Contracts.UserErrorException>(() => GradientUnlearner.Unlearn("ga", other, otherReference, new ForgetData(forget), retain, gradient, pad,
            checkpoints: new CheckpointPlan(temp["npo"], Resume: true)));
    }

    internal static void AssertSameWeights(LlamaForCausalLM a, LlamaForCausalLM b)
    {
        var expected = LlamaWeights.Export(a).ToDictionary(t => t.Name, t => t.ToFloats());
        foreach (var t in LlamaWeights.Export(b)) Assert.True(expected[t.Name].SequenceEqual(t.ToFloats()), $"{t.Name} differs after resume");
    }
}
