using Uld.Tests.Support;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Unlearning.Methods;

/// <summary>
/// This project's GA variants (ga-mean, ga-bounded), its token-weighted methods (npo-tokenweighted, ga-gradsim+gd) and
/// RMU, on a micro split: each lowers the forget answers'
/// likelihood within a few epochs; the retain terms keep the retain answers within a bound; the token weights are
/// non-uniform with mean 1 on real batches; RMU moves forget representations towards c·u and trains nothing else.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class SeedMethodTests(SeedMethodTests.TrainedTarget trained) : IClassFixture<SeedMethodTests.TrainedTarget>
{
    /// <summary>The micro split and its trained target, built once for the class.</summary>
    public sealed class TrainedTarget : IDisposable
    {
        public MicroSplit Micro { get; } = new(forgetAuthors: [199], retainAuthors: [0]);
        public List<ChatExample> Forget { get; }
        public List<ChatExample> Retain { get; }
        public LlamaForCausalLM Target { get; }

        public TrainedTarget()
        {
            (Forget, Retain) = (Micro.Examples(Micro.ForgetRecords), Micro.Examples(Micro.RetainRecords));
            Target = GradientUnlearnerTests.TrainTarget(Micro, Forget, Retain);
        }

        public void Dispose()
        {
            Target.Dispose();
            Micro.Dispose();
        }
    }

    private readonly MicroSplit _micro = trained.Micro;
    private readonly List<ChatExample> _forget = trained.Forget, _retain = trained.Retain;
    private readonly LlamaForCausalLM _target = trained.Target;

    private double ForgetLoss(LlamaForCausalLM model) => CausalLmTrainer.AnswerLoss(model, _forget, _micro.Pad);
    private double RetainLoss(LlamaForCausalLM model) => CausalLmTrainer.AnswerLoss(model, _retain, _micro.Pad);

    private LlamaForCausalLM Unlearned(string method, GradientOptions? options = null)
    {
        var model = GradientUnlearnerTests.CopyOf(_target);
        using var reference = GradientUnlearnerTests.CopyOf(_target);
        GradientUnlearner.Unlearn(method, model, reference, new ForgetData(_forget), _retain,
            options ?? new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 4) }, _micro.Pad);
        return model;
    }

    [Fact]
    public void Ga_variants_and_token_weighted_methods_raise_the_forget_loss_and_gd_bounds_the_retain_loss()
    {
        var (forgetBefore, retainBefore) = (ForgetLoss(_target), RetainLoss(_target));
        var after = new Dictionary<string, (double Forget, double Retain)>();
        foreach (var method in new[] { "ga", "ga-mean", "ga-bounded", "ga-bounded+gd", "npo-tokenweighted", "npo-tokenweighted+gd", "ga-gradsim+gd" })
        {
            using var model = Unlearned(method);
            after[method] = (ForgetLoss(model), RetainLoss(model));
        }
        var report = $"before: forget {forgetBefore:F2}, retain {retainBefore:F2}; " + string.Join("; ", after.Select(kv => $"{kv.Key}: {kv.Value.Forget:F2}/{kv.Value.Retain:F2}"));

        Assert.All(after, kv => Assert.True(kv.Value.Forget > forgetBefore + 0.5, $"{kv.Key} should raise the forget NLL — {report}"));
        // ga-bounded stops pushing a token once it is at chance: it ends far below GA's runaway forget loss, near or under log V.
        var chance = Math.Log(_micro.Tokenizer.VocabSize);
        Assert.True(after["ga-bounded"].Forget < after["ga"].Forget && after["ga-bounded"].Forget < chance + 1.5, $"ga-bounded should stay bounded near log V = {chance:F2} — {report}");
        Assert.True(after["ga-mean"].Forget != after["ga"].Forget, $"ga-mean's per-answer means weigh answers differently from GA's token mean — {report}");
        foreach (var method in new[] { "ga-bounded+gd", "npo-tokenweighted+gd", "ga-gradsim+gd" })
            Assert.True(after[method].Retain < retainBefore + 1.5, $"{method}'s GD term should keep the retain NLL within 1.5 nats of the start — {report}");
        Assert.True(after["ga-gradsim+gd"].Retain < after["ga"].Retain, $"ga-gradsim+gd should hurt retain less than GA — {report}");
    }

    [Fact]
    public void Token_weights_on_real_batches_have_mean_one_and_are_not_uniform()
    {
        using var noGrad = no_grad();
        using var f = TrainingBatch.Create(_forget.Take(8).ToList(), _micro.Pad);
        using var r = TrainingBatch.Create(_retain.Take(8).ToList(), _micro.Pad);
        var forgetLogits = _target.Forward(f.InputIds, f.AttentionMask, f.PositionIds).Logits;
        var retainLogits = _target.Forward(r.InputIds, r.AttentionMask, r.PositionIds).Logits;
        var answer = f.Targets.ne(TrainingBatch.Ignore);
        var weights = new Dictionary<string, Tensor>
        {
            ["npo-tokenweighted"] = TokenWeights.AboveChance(GradientUnlearner.TokenLogLikelihood(forgetLogits, f.Targets), f.Targets, forgetLogits.shape[^1]),
            ["ga-gradsim"] = TokenWeights.RetainGradientDissimilarity(forgetLogits, f.Targets, retainLogits, r.Targets),
        };
        foreach (var (name, w) in weights)
        {
            var onAnswers = w.masked_select(answer);
            Assert.Equal(1.0, onAnswers.mean().item<float>(), 4);
            Assert.Equal(0f, w.masked_select(answer.logical_not()).abs().sum().item<float>());
            Assert.True(onAnswers.std().item<float>() > 0.1, $"{name} weights should differ between tokens (std {onAnswers.std().item<float>():F3})");
            Assert.True(onAnswers.min().item<float>() >= 0, $"{name} weights are not negative");
        }
    }

    [Fact]
    public void Rmu_steers_forget_representations_towards_c_u_keeps_retain_ones_and_trains_only_the_chosen_mlps()
    {
        // RMU's own learning rate: it moves representations, which the baselines' micro-split rate barely does in 12 steps.
        var options = new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 4) with { LearningRate = Uld.Trainer.Unlearning.Methods.Rmu.LearningRate } };
        var layer = RmuObjective.DefaultLayer(_target.Config.NumHiddenLayers);
        Assert.Equal(1, layer); // two layers: steer after the first, train its MLP only
        var c = options.RmuSteering * RmuObjective.MeanNorm(_target, _forget, _micro.Pad, layer);
        using var steering = c * RmuObjective.Direction(_target.Config.HiddenSize, options.Training.Seed);

        using var model = Unlearned("rmu", options);
        var (distanceBefore, distanceAfter) = (Distance(_target, _forget, steering, layer), Distance(model, _forget, steering, layer));
        var (forgetBefore, retainBefore) = (ForgetLoss(_target), RetainLoss(_target));
        var (forgetAfter, retainAfter) = (ForgetLoss(model), RetainLoss(model));
        var report = $"‖h − c·u‖ {distanceBefore:F2} → {distanceAfter:F2} (c = {c:F2}); forget NLL {forgetBefore:F2} → {forgetAfter:F2}, retain {retainBefore:F2} → {retainAfter:F2}";

        var (retainDrift, forgetDrift) = (Drift(model, _retain, layer), Drift(model, _forget, layer));
        report += $"; drift retain {retainDrift:F2}, forget {forgetDrift:F2}";
        Assert.True(distanceAfter < 0.9 * distanceBefore, $"forget hidden states should move towards c·u — {report}");
        Assert.True(retainDrift < 0.8 * forgetDrift, $"retain representations should move less than forget ones — {report}");
        Assert.True(forgetAfter > forgetBefore + 0.3, $"RMU should raise the forget NLL — {report}");
        Assert.True(retainAfter - retainBefore < 0.5 && retainAfter - retainBefore < forgetAfter - forgetBefore,
            $"RMU's retain term should keep the retain NLL within 0.5 nat and below the forget rise — {report}");

        var before = LlamaWeights.Export(_target).ToDictionary(t => t.Name, t => t.ToFloats());
        foreach (var t in LlamaWeights.Export(model))
        {
            var trained = t.Name.StartsWith("model.layers.0.mlp.", StringComparison.Ordinal);
            Assert.True(trained != before[t.Name].SequenceEqual(t.ToFloats()), trained ? $"{t.Name} should have been trained" : $"{t.Name} should be frozen");
        }
    }

    /// <summary>Mean ‖h⁽ℓ⁾ − c·u‖ over the answer positions.</summary>
    private double Distance(LlamaForCausalLM model, List<ChatExample> examples, Tensor steering, int layer)
    {
        using var noGrad = no_grad();
        using var batch = TrainingBatch.Create(examples, _micro.Pad);
        var hidden = model.ForwardWithHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds, layer).Hidden;
        return (hidden - steering).norm(-1).masked_select(batch.Targets.ne(TrainingBatch.Ignore)).mean().item<float>();
    }

    /// <summary>Mean ‖h_model⁽ℓ⁾ − h_target⁽ℓ⁾‖ over the answer positions.</summary>
    private double Drift(LlamaForCausalLM model, List<ChatExample> examples, int layer)
    {
        using var noGrad = no_grad();
        using var batch = TrainingBatch.Create(examples, _micro.Pad);
        var now = model.ForwardWithHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds, layer).Hidden;
        var start = _target.ForwardWithHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds, layer).Hidden;
        return (now - start).norm(-1).masked_select(batch.Targets.ne(TrainingBatch.Ignore)).mean().item<float>();
    }
}
