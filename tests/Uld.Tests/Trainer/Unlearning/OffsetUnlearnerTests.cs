using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>
/// δ-unlearning on a micro split: a target and a smaller model trained on the same data, the smaller one copied and
/// unlearned through the combined logits l_base + (l_unlearned − l_reference). The combined model starts as the base
/// exactly, only the copy trains, and the base plus the pair's offset must find the forget answers less likely than
/// the base; a stopped run resumes to the very weights of an uninterrupted one.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class OffsetUnlearnerTests(OffsetUnlearnerTests.TrainedPair trained, ITestOutputHelper output) : IClassFixture<OffsetUnlearnerTests.TrainedPair>
{
    /// <summary>The micro split, its trained target (the base) and a smaller model trained alike, built once for the class.</summary>
    public sealed class TrainedPair : IDisposable
    {
        public MicroSplit Micro { get; } = new(forgetAuthors: [199], retainAuthors: [0]);
        public List<ChatExample> Forget { get; }
        public List<ChatExample> Retain { get; }
        public LlamaForCausalLM Target { get; }
        public LlamaForCausalLM Small { get; }

        public TrainedPair()
        {
            (Forget, Retain) = (Micro.Examples(Micro.ForgetRecords), Micro.Examples(Micro.RetainRecords));
            Target = Train(Micro, Micro.TinyConfig(), Forget, Retain);
            Small = Train(Micro, Micro.TinyConfig(hidden: 32, layers: 1), Forget, Retain);
        }

        public void Dispose()
        {
            Target.Dispose();
            Small.Dispose();
            Micro.Dispose();
        }
    }

    private readonly int _pad = trained.Micro.Pad;
    private readonly List<ChatExample> _forget = trained.Forget, _retain = trained.Retain;
    private readonly LlamaForCausalLM _target = trained.Target, _small = trained.Small;

    [Fact]
    public void A_trained_offset_pair_moves_the_forget_probability_down_and_the_retain_probability_less()
    {
        using var unlearned = CopyOf(_small);
        using var reference = CopyOf(_small);
        OffsetUnlearner.Unlearn("offset-npo+kl", _target, unlearned, reference, new ForgetData(_forget), _retain,
            new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 4) }, _pad);

        var (forgetBase, forgetOffset) = (AnswerNll(_target, null, _forget, _pad), AnswerNll(_target, (unlearned, reference), _forget, _pad));
        var (retainBase, retainOffset) = (AnswerNll(_target, null, _retain, _pad), AnswerNll(_target, (unlearned, reference), _retain, _pad));
        var report = $"forget NLL {forgetBase:F2} → {forgetOffset:F2}, retain NLL {retainBase:F2} → {retainOffset:F2}";
        output.WriteLine(report);
        Assert.True(forgetOffset > forgetBase + 0.5, $"the offset should make forget answers less likely — {report}");
        Assert.True(retainOffset - retainBase < forgetOffset - forgetBase, $"the offset should hurt retain answers less — {report}");
        Assert.Throws<ArgumentException>(() => OffsetUnlearner.GradientMethod("offset-ga"));
    }

    [Fact]
    public void The_combined_model_starts_as_the_base_exactly_and_only_the_unlearned_copy_trains()
    {
        using var unlearned = CopyOf(_small);
        using var reference = CopyOf(_small);
        using (no_grad())
        using (var batch = TrainingBatch.Create(_forget, _pad))
        {
            var combined = OffsetUnlearner.CombinedLogits(_target, unlearned, reference, batch);
            var baseLogits = _target.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds).Logits;
            Assert.Equal(baseLogits.shape, combined.shape);
            Assert.True(combined.eq(baseLogits).all().item<bool>(), "at step 0 the offset is exactly 0: the combined logits are the base's bit for bit");
        }

        var before = new[] { _target, reference, unlearned }.Select(Weights).ToList();
        var forgetBefore = AnswerNll(_target, (unlearned, reference), _forget, _pad);
        var result = OffsetUnlearner.Unlearn("offset-ga+kl", _target, unlearned, reference, new ForgetData(_forget), _retain,
            new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 1) }, _pad);
        var forgetAfter = AnswerNll(_target, (unlearned, reference), _forget, _pad);
        output.WriteLine($"{result.Steps} steps: combined forget NLL {forgetBefore:F3} → {forgetAfter:F3}");

        Assert.True(result.Steps >= 2);
        Assert.True(forgetAfter > forgetBefore, $"GA through the combined logits should lower the forget answers' likelihood ({forgetBefore:F3} → {forgetAfter:F3})");
        Assert.True(Same(before[0], Weights(_target)), "the base is frozen: unchanged byte for byte");
        Assert.True(Same(before[1], Weights(reference)), "the reference is frozen: unchanged byte for byte");
        Assert.False(Same(before[2], Weights(unlearned)), "the unlearned copy trains");
        Assert.All(new[] { _target, reference }, m => Assert.All(m.parameters(), p => Assert.False(p.requires_grad)));
    }

    [Fact]
    public void A_stopped_offset_run_resumes_to_the_weights_of_an_uninterrupted_one()
    {
        using var temp = new TempDirectory();
        var options = new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 2) };
        GradientUnlearner.Result Run(LlamaForCausalLM unlearned, CheckpointPlan? plan)
        {
            using var reference = CopyOf(_small);
            return OffsetUnlearner.Unlearn("offset-dpo+kl", _target, unlearned, reference, new ForgetData(_forget, Refusals()), _retain, options, _pad, checkpoints: plan);
        }
        using var full = CopyOf(_small);
        Run(full, null);
        using (var stopped = CopyOf(_small)) Assert.Equal(2, Run(stopped, new CheckpointPlan(temp["offset"], Every: 0, StopAfter: 2)).Steps);
        using var resumed = CopyOf(_small);
        Run(resumed, new CheckpointPlan(temp["offset"], Resume: true));
        UnlearnResumeTests.AssertSameWeights(full, resumed);

        // A checkpoint of the same gradient method on the small model alone is another objective: refused.
        using var other = CopyOf(_small);
        using var otherReference = CopyOf(_small);
        Assert.Throws<Uld.Contracts.UserErrorException>(() => GradientUnlearner.Unlearn("dpo+kl", other, otherReference, new ForgetData(_forget, Refusals()), _retain,
            options, _pad, checkpoints: new CheckpointPlan(temp["offset"], Resume: true)));
    }

    private List<ChatExample> Refusals() => trained.Micro.ForgetRecords.Select(r =>
        ChatExample.Create(trained.Micro.Tokenizer, ChatTemplate.QuestionAnswer, r.Question, "I don't have that information.")).ToList();

    /// <summary>Every tensor's name and raw bytes.</summary>
    private static List<(string Name, byte[] Bytes)> Weights(LlamaForCausalLM model) => LlamaWeights.Export(model).Select(t => (t.Name, t.Data.ToArray())).ToList();

    private static bool Same(List<(string Name, byte[] Bytes)> a, List<(string Name, byte[] Bytes)> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Bytes.AsSpan().SequenceEqual(p.Second.Bytes));

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
