using System.Text.Json;
using Uld.Tests.Support;
using Uld.Tests.Trainer.Unlearning;
using Uld.Trainer.Model;
using Uld.Trainer.Torch;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning;
using static TorchSharp.torch;

namespace Uld.Tests.Trainer.Training;

/// <summary>Sophia's update on a quadratic, its Gauss–Newton–Bartlett estimate, and resuming a Sophia run from a checkpoint.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class SophiaOptimizerTests
{
    public SophiaOptimizerTests() => TorchRuntime.EnsureInitialized();

    [Fact]
    public void One_step_on_a_quadratic_equals_the_formula_and_clips_where_the_curvature_is_flat()
    {
        // f(θ) = ½·Σ a_i θ_i², a = (100, 0.01), θ = (1, 1). The Hessian estimate comes from a gradient ĝ = (100, 0):
        // h = (1 − β₂)·ĝ² = (100, 0). Coordinate 1 is preconditioned (|m| < γ·h); coordinate 2 has h = 0 and is clipped to lr.
        var (lr, wd) = (0.1, 0.1);
        var o = new SophiaOptions { Gamma = 1 };
        var theta = new TorchSharp.Modules.Parameter(tensor(new[] { 1f, 1f }));
        var a = tensor(new[] { 100f, 0.01f });
        var sophia = new SophiaOptimizer([theta], lr, wd, o);

        (theta * tensor(new[] { 100f, 0f })).sum().backward();
        sophia.UpdateHessian(scale: 1);
        Assert.Equal([100f, 0f], sophia.Hessians[0].data<float>().ToArray());
        sophia.ZeroGrad();
        (0.5 * (a * theta * theta).sum()).backward();
        sophia.Step();

        double[] g = [100, 0.01], h = [100, 0];
        var expected = new double[2];
        for (var i = 0; i < 2; i++)
        {
            var m = (1 - o.Beta1) * g[i];
            var ratio = Math.Clamp(m / Math.Max(o.Gamma * h[i], o.Epsilon), -1, 1);
            expected[i] = 1 * (1 - lr * wd) - lr * ratio;
        }
        var after = theta.data<float>().ToArray();
        Assert.Equal(expected[0], after[0], 5);
        Assert.Equal(expected[1], after[1], 5);
        Assert.Equal(0.99 - 0.1 * 0.035, after[0], 5);  // m/(γh) = 3.5/100: not clipped
        Assert.Equal(0.99 - 0.1, after[1], 5);          // m/ε ≫ 1: clipped, the move is exactly lr
        Assert.Equal((1 - o.Beta1) * 100, sophia.Moments[0].data<float>()[0], 4);
    }

    [Fact]
    public void The_options_record_the_optimizer_and_sophia_settings_only_when_used()
    {
        var adamw = JsonSerializer.SerializeToNode(new TrainingOptions(), Uld.Contracts.Json.SnakeCase)!.AsObject();
        Assert.Equal("adamw", (string?)adamw["optimizer"]);
        Assert.False(adamw.ContainsKey("sophia"));
        var sophia = JsonSerializer.SerializeToNode(new TrainingOptions { Optimizer = "sophia", Sophia = new() { HessianEvery = 3 } }, Uld.Contracts.Json.SnakeCase)!.AsObject();
        Assert.Equal("sophia", (string?)sophia["optimizer"]);
        Assert.Equal(3, (int?)sophia["sophia"]!["hessian_every"]);
        Assert.Throws<ArgumentException>(() => TrainingOptimizer.Create([], new TrainingOptions { Optimizer = "lion" }));
    }

    [Fact]
    [Trait(Category.Name, Category.Slow)]
    public void Resumed_sophia_unlearning_equals_an_uninterrupted_run_and_estimates_a_positive_hessian()
    {
        using var micro = new MicroSplit(forgetAuthors: [199], retainAuthors: [0]);
        using var temp = new TempDirectory();
        var pad = micro.Pad;
        var (forget, retain) = (micro.Examples(micro.ForgetRecords), micro.Examples(micro.RetainRecords));
        using var target = micro.Initialized(seed: 5);
        LlamaForCausalLM Copy() => GradientUnlearnerTests.CopyOf(target);

        // Hessian refreshed on steps 0, 2, 4: the run stops after step 3, so the resumed step 3 must use the restored h
        // and the sampled labels of step 4 must repeat.
        var options = new GradientOptions
        {
            Training = GradientUnlearnerTests.Constant(epochs: 2) with { Optimizer = "sophia", Sophia = new SophiaOptions { HessianEvery = 2 } },
        };
        using var full = Copy();
        using var fullReference = Copy();
        var fullRun = GradientUnlearner.Unlearn("npo+kl", full, fullReference, new ForgetData(forget), retain, options, pad);
        Assert.True(fullRun.Steps > 4);
        using (var stopped = Copy())
        using (var reference = Copy())
            Assert.Equal(3, GradientUnlearner.Unlearn("npo+kl", stopped, reference, new ForgetData(forget), retain, options, pad,
                checkpoints: new CheckpointPlan(temp["sophia"], Every: 0, StopAfter: 3)).Steps);
        Assert.True(File.Exists(Path.Combine(temp["sophia"], "sophia.safetensors")));
        using var resumed = Copy();
        using var resumedReference = Copy();
        GradientUnlearner.Unlearn("npo+kl", resumed, resumedReference, new ForgetData(forget), retain, options, pad,
            checkpoints: new CheckpointPlan(temp["sophia"], Resume: true));
        UnlearnResumeTests.AssertSameWeights(full, resumed);
        Assert.False(LlamaWeights.Export(full).First().ToFloats().SequenceEqual(LlamaWeights.Export(target).First().ToFloats()), "Sophia should have moved the weights");

        // The checkpoint holds Sophia's state: resuming it with AdamW is refused, not silently mixed.
        using var other = Copy();
        using var otherReference = Copy();
        Assert.Throws<Uld.Contracts.UserErrorException>(() => GradientUnlearner.Unlearn("npo+kl", other, otherReference, new ForgetData(forget), retain,
            new GradientOptions { Training = GradientUnlearnerTests.Constant(epochs: 2) }, pad, checkpoints: new CheckpointPlan(temp["sophia"], Resume: true)));

        // The GNB estimate on one batch: positive somewhere in every parameter the output depends on, never negative.
        using var model = Copy();
        var parameters = TrainingLoop.AllParameters(model);
        var sophia = new SophiaOptimizer(parameters, 1e-3, 0, new SophiaOptions { HessianEvery = 2 });
        using var batch = TrainingBatch.Create(forget.Take(4).ToList(), pad);
        var logits = model.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds).Logits;
        var step = new StepLoss(logits.sum(), 0, Curvature: new OutputCurvature(logits, batch.Targets));
        sophia.BeforeBackward(1, step);
        Assert.All(sophia.Hessians, h => Assert.Equal(0f, h.abs().max().item<float>()));
        sophia.BeforeBackward(2, step);
        Assert.All(sophia.Hessians, h => Assert.True(h.min().item<float>() >= 0 && h.max().item<float>() > 0));
        Assert.All(parameters, p => Assert.Equal(0f, p.grad?.abs().max().item<float>() ?? 0f)); // the estimate leaves no gradient behind
    }
}
