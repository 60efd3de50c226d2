using System.Diagnostics;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>Settings of the gradient-based baselines (docs/METHODS.md; the reference uses lr 1e-5 at 7B scale).</summary>
public sealed record GradientOptions
{
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 1e-4;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>γ: weight of the retain term (+GD, +KL).</summary>
    public double RetainWeight { get; init; } = 1.0;
    /// <summary>β of NPO.</summary>
    public double Beta { get; init; } = 0.1;
    public int Seed { get; init; } = 1234;
}

/// <summary>
/// Gradient-based unlearning of a whole model, the baselines ULD is compared with: a forget term (GA: maximise the
/// forget NLL; NPO: −(2/β)·logσ(−β·(log p_θ(y|x) − log p_ref(y|x))) per sequence) plus an optional retain term
/// (GD: + γ·CE on retain; KL: + γ·KL(p_ref ‖ p_θ) on retain). The reference model is the frozen starting point.
/// </summary>
public static class GradientUnlearner
{
    public static readonly string[] Methods = ["ga", "ga+gd", "ga+kl", "npo", "npo+gd", "npo+kl"];

    public sealed record Result(int Steps, double FinalForgetTerm, double FinalRetainTerm, TimeSpan Elapsed);

    public static Result Unlearn(string method, LlamaForCausalLM model, LlamaForCausalLM reference, IReadOnlyList<ChatExample> forget,
        IReadOnlyList<ChatExample> retain, GradientOptions o, int padId, Action<int, int, double, double>? progress = null)
    {
        var parts = method.Split('+');
        var (forgetTerm, retainTerm) = (parts[0], parts.Length > 1 ? parts[1] : null);
        if (!Methods.Contains(method)) throw new ArgumentException($"unknown gradient method '{method}'; known: {string.Join(", ", Methods)}.");
        if (forget.Count == 0) throw new ArgumentException("the forget set is empty.");
        if (retainTerm is not null && retain.Count == 0) throw new ArgumentException($"{method} needs retain data.");

        foreach (var p in reference.parameters()) p.requires_grad_(false);
        var optimizer = optim.AdamW(model.parameters(), lr: o.LearningRate, weight_decay: o.WeightDecay);
        var plan = new BatchPlan(forget, o.BatchSize, o.Seed);
        var total = o.Epochs * plan.StepsPerEpoch;
        var clock = Stopwatch.StartNew();
        double lastForget = double.NaN, lastRetain = 0;
        model.train();
        for (var step = 0; step < total; step++)
        {
            var forgetBatch = plan.At(step);
            using var scope = NewDisposeScope();
            using var f = TrainingBatch.Create(forgetBatch, padId);
            var (logits, _) = model.Forward(f.InputIds, f.AttentionMask, f.PositionIds);
            var loss = forgetTerm == "ga"
                ? -TokenCrossEntropy(logits, f.Targets)
                : Npo(SequenceLogLikelihood(logits, f.Targets), ReferenceLogLikelihood(reference, f), o.Beta);
            lastForget = loss.item<float>();

            if (retainTerm is not null)
            {
                var retainBatch = BatchPlan.Cycle(retain, o.BatchSize, o.Seed + 1, step);
                using var r = TrainingBatch.Create(retainBatch, padId);
                var (retainLogits, _) = model.Forward(r.InputIds, r.AttentionMask, r.PositionIds);
                var term = retainTerm == "gd" ? TokenCrossEntropy(retainLogits, r.Targets) : KlFromReference(reference, r, retainLogits);
                lastRetain = term.item<float>();
                loss = loss + term * o.RetainWeight;
            }
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            progress?.Invoke(step + 1, total, lastForget, lastRetain);
        }
        model.eval();
        return new Result(total, lastForget, lastRetain, clock.Elapsed);
    }

    private static Tensor TokenCrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: TrainingBatch.Ignore);

    /// <summary>log p(answer | question) per sequence: the sum of answer-token log-probabilities, [batch].</summary>
    public static Tensor SequenceLogLikelihood(Tensor logits, Tensor targets)
    {
        var perToken = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1),
            ignore_index: TrainingBatch.Ignore, reduction: nn.Reduction.None);
        return -perToken.view(targets.shape[0], targets.shape[1]).sum(1);
    }

    private static Tensor ReferenceLogLikelihood(LlamaForCausalLM reference, TrainingBatch batch)
    {
        using var noGrad = no_grad();
        var (logits, _) = reference.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds);
        return SequenceLogLikelihood(logits, batch.Targets);
    }

    /// <summary>NPO: −(2/β)·mean logσ(−β·(log p_θ − log p_ref)).</summary>
    public static Tensor Npo(Tensor logLikelihood, Tensor referenceLogLikelihood, double beta) =>
        -(2.0 / beta) * nn.functional.logsigmoid(-beta * (logLikelihood - referenceLogLikelihood)).mean();

    /// <summary>KL(p_ref ‖ p_θ) per real position, averaged.</summary>
    private static Tensor KlFromReference(LlamaForCausalLM reference, TrainingBatch batch, Tensor logits)
    {
        Tensor referenceLogp;
        using (no_grad())
        {
            var (refLogits, _) = reference.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds);
            referenceLogp = nn.functional.log_softmax(refLogits, -1);
        }
        var logp = nn.functional.log_softmax(logits, -1);
        var perPosition = (referenceLogp.exp() * (referenceLogp - logp)).sum([-1L]);
        var mask = batch.AttentionMask.to(ScalarType.Float32);
        return (perPosition * mask).sum() / mask.sum();
    }
}
