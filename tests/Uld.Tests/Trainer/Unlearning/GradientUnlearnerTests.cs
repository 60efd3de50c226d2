using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using Uld.Trainer.Data;
using Uld.Tokenization;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>Each gradient baseline moves its losses the right way on a micro split (a tiny target trained for seconds).</summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class GradientUnlearnerTests
{
    [Fact]
    public void Baselines_raise_forget_loss_and_retain_terms_protect_the_retain_set()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0]);
        var pad = micro.Pad;
        var (forget, retain) = (micro.Examples(micro.ForgetRecords), micro.Examples(micro.RetainRecords));
        using var target = TrainTarget(micro, forget, retain);
        LlamaForCausalLM Copy() => CopyOf(target);
        var (forgetBefore, retainBefore) = (CausalLmTrainer.AnswerLoss(target, forget, pad), CausalLmTrainer.AnswerLoss(target, retain, pad));

        var after = new Dictionary<string, (double Forget, double Retain)>();
        foreach (var method in new[] { "ga", "ga+gd", "npo", "npo+gd", "npo+kl", "simnpo", "simnpo+gd" })
        {
            using var model = Copy();
            using var reference = Copy();
            GradientUnlearner.Unlearn(method, model, reference, new ForgetData(forget), retain,
                new GradientOptions { Training = Constant(epochs: 4) }, pad);
            after[method] = (CausalLmTrainer.AnswerLoss(model, forget, pad), CausalLmTrainer.AnswerLoss(model, retain, pad));
        }

        var report = $"before: forget {forgetBefore:F2}, retain {retainBefore:F2}; " + string.Join("; ", after.Select(kv => $"{kv.Key}: {kv.Value.Forget:F2}/{kv.Value.Retain:F2}"));
        Assert.All(after, kv => Assert.True(kv.Value.Forget > forgetBefore + 0.5, $"{kv.Key} should raise the forget NLL — {report}"));
        Assert.True(after["ga+gd"].Retain < after["ga"].Retain, $"GD should protect retain under GA — {report}");
        Assert.True(after["npo+gd"].Retain < after["npo"].Retain + 0.05, $"GD should not hurt retain under NPO — {report}");
    }

    [Fact]
    public void Refusal_based_methods_and_task_vector_move_the_forget_and_refusal_losses_the_right_way()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0]);
        var pad = micro.Pad;
        var (forget, retain) = (micro.Examples(micro.ForgetRecords), micro.Examples(micro.RetainRecords));
        var refusals = micro.ForgetRecords.Select((r, i) => ChatExample.Create(micro.Tokenizer, ChatTemplate.QuestionAnswer, r.Question,
            i % 2 == 0 ? "I don't have that information." : "I'm not certain about that.")).ToList();
        using var target = TrainTarget(micro, forget, retain);
        LlamaForCausalLM Copy() => CopyOf(target);
        var (forgetBefore, refusalBefore) = (CausalLmTrainer.AnswerLoss(target, forget, pad), CausalLmTrainer.AnswerLoss(target, refusals, pad));

        var after = new Dictionary<string, (double Forget, double Refusal)>();
        foreach (var method in new[] { "dpo", "dpo+gd", "idk", "flat-kl", "flat-tv", "flat-js", "flat-pearson", "task-vector" })
        {
            using var model = Copy();
            using var reference = Copy();
            GradientUnlearner.Unlearn(method, model, reference, new ForgetData(forget, refusals), retain,
                new GradientOptions { Training = Constant(epochs: 4) }, pad);
            after[method] = (CausalLmTrainer.AnswerLoss(model, forget, pad), CausalLmTrainer.AnswerLoss(model, refusals, pad));
        }

        var report = $"before: forget {forgetBefore:F2}, refusal {refusalBefore:F2}; " + string.Join("; ", after.Select(kv => $"{kv.Key}: {kv.Value.Forget:F2}/{kv.Value.Refusal:F2}"));
        // DPO alone may lower both likelihoods (a known DPO effect); what it must grow is the margin of refusal over truth.
        Assert.True(after["dpo"].Forget - after["dpo"].Refusal > forgetBefore - refusalBefore + 1, $"dpo should prefer refusals — {report}");
        Assert.All(after.Where(kv => kv.Key is not ("task-vector" or "dpo")), kv => Assert.True(kv.Value.Refusal < refusalBefore - 0.5, $"{kv.Key} should make refusals likelier — {report}"));
        Assert.All(after.Where(kv => kv.Key is not ("idk" or "task-vector")), kv => Assert.True(kv.Value.Forget > forgetBefore + 0.3, $"{kv.Key} should raise the forget NLL — {report}"));
        Assert.True(after["task-vector"].Forget > forgetBefore + 0.1, $"negating the forget task vector should raise the forget NLL — {report}");
        Assert.Throws<ArgumentException>(() => GradientUnlearner.Unlearn("dpo", target, target, new ForgetData(forget), retain, new GradientOptions(), pad));
    }

    /// <summary>The baselines' constant learning rate, at a rate and batch that suit the micro split.</summary>
    internal static TrainingOptions Constant(int epochs) => new GradientOptions().Training with { Epochs = epochs, BatchSize = 8, LearningRate = 2e-3, Seed = 1 };

    /// <summary>A tiny target that has seen forget and retain answers for a few seconds: what the baselines start from.</summary>
    internal static LlamaForCausalLM TrainTarget(MicroSplit micro, List<ChatExample> forget, List<ChatExample> retain)
    {
        var target = new LlamaForCausalLM(micro.TinyConfig());
        CausalLmTrainer.Initialize(target, 5);
        CausalLmTrainer.Train(target, [.. forget, .. retain], new TrainingOptions { Epochs = 20, BatchSize = 8, LearningRate = 1e-2, Seed = 5 }, micro.Pad, null, false);
        return target;
    }

    internal static LlamaForCausalLM CopyOf(LlamaForCausalLM target)
    {
        var model = new LlamaForCausalLM(target.Config);
        LlamaWeights.Load(model, LlamaWeights.Export(target).ToDictionary(t => t.Name), "target");
        return model;
    }
}
