using Uld.Trainer.Data;
using Uld.Trainer.Model;
using Uld.Trainer.Training;
using Uld.Trainer.Unlearning.Methods;
using static TorchSharp.torch;

namespace Uld.Trainer.Unlearning;

/// <summary>Settings of the gradient-based baselines (docs/METHODS.md, *Gradient-based baselines*; the reference uses lr 1e-5 at 7B scale, 5e-4 suits TOFU-mini).</summary>
public sealed record GradientOptions
{
    /// <summary>A constant learning rate (one warm-up step, no decay): a few epochs leave no room for a schedule.</summary>
    public TrainingOptions Training { get; init; } = new()
    {
        Epochs = 5, LearningRate = 5e-4, WarmupFraction = 0, FinalLearningRateFraction = 1,
    };
    /// <summary>γ: weight of the retain term (+GD, +KL).</summary>
    public double RetainWeight { get; init; } = 1.0;
    /// <summary>β of NPO, SimNPO and DPO.</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>δ: SimNPO's reward margin (0 in most of the paper's TOFU runs).</summary>
    public double SimNpoMargin { get; init; }
    /// <summary>Task vector: θ = θ_c − scale·(θ* − θ_c).</summary>
    public double TaskVectorScale { get; init; } = 1.0;
    /// <summary>RMU's layer ℓ (from 1; null: half the depth, <see cref="RmuObjective.DefaultLayer"/>).</summary>
    public int? RmuLayer { get; init; }
    /// <summary>RMU's steering coefficient c, as a multiple of the starting model's mean hidden-state norm at layer ℓ on the forget answers.</summary>
    public double RmuSteering { get; init; } = 4.0;
    /// <summary>
    /// RMU's α: weight of keeping retain hidden states at the starting model's. The paper's 1200 (7B) pins a micro
    /// model's representations entirely; at 10 forget answers move while retain ones barely do.
    /// </summary>
    public double RmuAlpha { get; init; } = 10.0;

    /// <summary>The defaults of <paramref name="method"/>: these, with what its forget term changes (rmu: its learning rate).</summary>
    public GradientOptions For(string method) => ForgetTerms.Of(method)?.Defaults(this) ?? this;
}

/// <summary>Forget examples and, aligned with them, the same questions answered with a refusal (DPO, IDK, FLAT).</summary>
public sealed record ForgetData(IReadOnlyList<ChatExample> Forget, IReadOnlyList<ChatExample>? Refusals = null);

/// <summary>
/// Gradient-based unlearning of a whole model, the baselines ULD is compared with
/// (docs/METHODS.md, *Gradient-based baselines*). A method is a forget term (<see cref="ForgetTerms.All"/>: one class
/// each, with its formula), optionally "+gd" (γ·CE on retain) or "+kl" (γ·KL(p_ref ‖ p_θ) on retain), with the frozen
/// starting model as reference. This class runs any of them through the shared <see cref="TrainingLoop"/> and holds the
/// loss formulas the terms share.
/// </summary>
public static class GradientUnlearner
{
    /// <summary>Every gradient method: each forget term of <see cref="ForgetTerms.All"/> under each retain term it is offered with.</summary>
    public static readonly string[] Methods = [.. ForgetTerms.All.SelectMany(t => t.MethodNames)];

    /// <summary>Forget terms under the names earlier versions used (ga1 was ga itself), only to point at the new name.</summary>
    private static readonly Dictionary<string, string> FormerNames = new()
    {
        ["ga1"] = "ga", ["ga2"] = "ga-mean", ["ga3"] = "ga-bounded", ["tnpo"] = "npo-tokenweighted", ["influence"] = "ga-gradsim",
    };

    /// <summary>The current name of a method under a former name ("ga2+kl" → "ga-mean+kl"), or null.</summary>
    public static string? RenamedTo(string method)
    {
        var plus = method.IndexOf('+');
        var (term, rest) = plus < 0 ? (method, "") : (method[..plus], method[plus..]);
        return FormerNames.TryGetValue(term, out var now) && Methods.Contains(now + rest) ? now + rest : null;
    }

    /// <summary>"unknown method 'x'", with its current name if it was renamed, and the known ones.</summary>
    public static string Unknown(string method, IEnumerable<string> known) => $"unknown method '{method}'"
        + (RenamedTo(method) is { } now ? $" (now called '{now}')" : "") + $"; known: {string.Join(", ", known)}.";

    /// <summary>Methods whose forget term needs refusal answers.</summary>
    public static bool NeedsRefusals(string method) => ForgetTerms.Of(method)?.NeedsRefusals ?? false;

    /// <summary>Steps is the step reached; fewer than planned when stopped early (resume continues from the checkpoint).</summary>
    public sealed record Result(RunRecord Run, double FinalForgetTerm, double FinalRetainTerm)
    {
        public int Steps => Run.Steps;
        public int PlannedSteps => Run.PlannedSteps;
        public TimeSpan Elapsed => Run.Elapsed;
    }

    /// <summary>Unlearns <paramref name="model"/> with its terms on its own logits, against the frozen <paramref name="reference"/> (its starting copy).</summary>
    public static Result Unlearn(string method, LlamaForCausalLM model, LlamaForCausalLM reference, ForgetData forget,
        IReadOnlyList<ChatExample> retain, GradientOptions o, int padId, Action<int, int, double, double>? progress = null, CheckpointPlan? checkpoints = null)
    {
        foreach (var p in reference.parameters()) p.requires_grad_(false);
        return Run(method, model, reference, () => new ModelLogits(model, reference), objective: null, forget, retain, o, padId, progress, checkpoints);
    }

    /// <summary>
    /// Unlearns <paramref name="model"/> with the method's terms taken on the logits <paramref name="logits"/> gives each
    /// step (which must depend on the model's parameters and hold the frozen reference's): δ-unlearning trains a small
    /// model through the combined logits of a frozen base and the pair (<see cref="OffsetUnlearner"/>). Every method whose
    /// terms are functions of logits; not rmu (hidden states) or task-vector (weights). <paramref name="objective"/> names
    /// the logits in the checkpoint fingerprint, so that a run is only resumed under the same objective.
    /// </summary>
    public static Result UnlearnThrough(string method, LlamaForCausalLM model, Func<StepLogits> logits, string objective, ForgetData forget,
        IReadOnlyList<ChatExample> retain, GradientOptions o, int padId, Action<int, int, double, double>? progress = null, CheckpointPlan? checkpoints = null)
    {
        if (ForgetTerms.Of(method) is { OnLogits: false }) throw new ArgumentException($"{method} acts on the model's hidden states or weights, not on logits.");
        return Run(method, model, null, logits, objective, forget, retain, o, padId, progress, checkpoints);
    }

    private static Result Run(string method, LlamaForCausalLM model, LlamaForCausalLM? reference, Func<StepLogits> logits, string? objective, ForgetData forget,
        IReadOnlyList<ChatExample> retain, GradientOptions o, int padId, Action<int, int, double, double>? progress, CheckpointPlan? checkpoints)
    {
        checkpoints ??= CheckpointPlan.None;
        var forgetTerm = ForgetTerms.Of(method) ?? throw new ArgumentException(Unknown(method, Methods));
        var retainTerm = method.Contains('+') ? method[(method.IndexOf('+') + 1)..] : null;
        if (forget.Forget.Count == 0) throw new ArgumentException("the forget set is empty.");
        var needsRetain = retainTerm is not null || forgetTerm.ReadsRetain;
        if (needsRetain && retain.Count == 0) throw new ArgumentException($"{method} needs retain data.");
        if (NeedsRefusals(method) && forget.Refusals?.Count != forget.Forget.Count)
            throw new ArgumentException($"{method} needs one refusal answer per forget example.");

        var t = o.Training;
        var fingerprint = $"{method}{(objective is null ? "" : $" ({objective} objective)")} seed {t.Seed}, {forget.Forget.Count} forget / {retain.Count} retain examples";
        using var rmu = forgetTerm is Rmu ? new RmuObjective(model, reference!, forget.Forget, padId, o) : null;
        var result = TrainingLoop.Run(model, rmu?.Trainable ?? TrainingLoop.AllParameters(model), forget.Forget, t, fingerprint, checkpoints, (step, indices) =>
        {
            var f = TrainingBatch.Create(indices.Select(i => forget.Forget[i]).ToList(), padId);
            var r = needsRetain ? TrainingBatch.Create(BatchPlan.Cycle(retain, t.BatchSize, t.Seed + 1, step), padId) : null;
            if (rmu is not null) return rmu.Step(f, r!);
            var w = forgetTerm.NeedsRefusals ? TrainingBatch.Create(indices.Select(i => forget.Refusals![i]).ToList(), padId) : null;
            var logitsOf = logits();
            var loss = forgetTerm.Loss(new ForgetStep(logitsOf, f, w, r, o));
            var forgetValue = loss.item<float>();
            if (retainTerm is null) return new StepLoss(loss, forgetValue, Curvature: logitsOf.First);

            var term = retainTerm == "gd" ? logitsOf.TokensOf(r!).AnswerCrossEntropy(r!.Targets) : KlFromReference(logitsOf.Reference(r!), logitsOf.Of(r!), r!.AttentionMask);
            return new StepLoss(loss + term * o.RetainWeight, forgetValue, term.item<float>(), Curvature: logitsOf.First);
        }, p => progress?.Invoke(p.Step, p.TotalSteps, p.Primary, p.Secondary));
        if (forgetTerm is TaskVector && result.Run.Finished) NegateTaskVector(model, reference!, o.TaskVectorScale);
        return new Result(result.Run, result.FinalPrimary, needsRetain ? result.FinalSecondary : 0);
    }

    /// <summary>
    /// The baselines' outputs: the trained model's own, and its frozen starting copy's as the reference; token
    /// statistics through the chunked head.
    /// </summary>
    private sealed class ModelLogits(LlamaForCausalLM model, LlamaForCausalLM reference) : StepLogits
    {
        protected override Tensor Trained(TrainingBatch batch) => Forward(model, batch);
        protected override Tensor Frozen(TrainingBatch batch) => Forward(reference, batch);
        protected override (Tensor Hidden, Tensor Weight)? TrainedOutput(TrainingBatch batch) => Output(model, batch);
        protected override (Tensor Hidden, Tensor Weight)? FrozenOutput(TrainingBatch batch) => Output(reference, batch);
    }

    /// <summary>Per-sequence answer-token log-probabilities, [batch, length] (0 where not an answer token).</summary>
    public static Tensor TokenLogLikelihood(Tensor logits, Tensor targets) => TokenStatistics.TargetLogProbabilities(logits, targets);

    /// <summary>Per-sequence geometric-mean token probability exp(mean log p), [batch]: FLAT's P(y|x).</summary>
    public static Tensor MeanTokenProbability(TokenStatistics tokens, Tensor targets) => (tokens.SequenceLogLikelihood() / AnswerLengths(targets)).exp();

    /// <summary>ga-mean: mean over answers of (1/|y|)·log p_θ(y|x), minimised.</summary>
    public static Tensor AnswerMeanAscent(Tensor sequenceLogLikelihood, Tensor targets) => (sequenceLogLikelihood / AnswerLengths(targets)).mean();

    /// <summary>ga-bounded: mean over answer tokens of max(log p_θ(y_t), −ceiling); no gradient once a token is at or below e^−ceiling.</summary>
    public static Tensor BoundedAscent(Tensor tokenLogLikelihood, Tensor targets, double ceiling)
    {
        var answer = targets.ne(TrainingBatch.Ignore).to(ScalarType.Float32);
        return (tokenLogLikelihood.clamp_min(-ceiling) * answer).sum() / answer.sum().clamp_min(1);
    }

    /// <summary>NPO: −(2/β)·mean logσ(−β·(log p_θ − log p_ref)).</summary>
    public static Tensor Npo(Tensor logLikelihood, Tensor referenceLogLikelihood, double beta) =>
        -(2.0 / beta) * nn.functional.logsigmoid(-beta * (logLikelihood - referenceLogLikelihood)).mean();

    /// <summary>SimNPO: −(2/β)·mean logσ(−β·(mean token log p_θ) − δ).</summary>
    public static Tensor SimNpo(Tensor meanTokenLogLikelihood, double beta, double margin) =>
        -(2.0 / beta) * nn.functional.logsigmoid(-beta * meanTokenLogLikelihood - margin).mean();

    /// <summary>Answer tokens per sequence, [batch] (at least 1).</summary>
    public static Tensor AnswerLengths(Tensor targets) => targets.ne(TrainingBatch.Ignore).sum(1).clamp_min(1).to(ScalarType.Float32);

    /// <summary>DPO with ref = the starting model: −(2/β)·mean logσ(β·(Δ_chosen − Δ_rejected)).</summary>
    public static Tensor Dpo(Tensor chosenLogRatio, Tensor rejectedLogRatio, double beta) =>
        -(2.0 / beta) * nn.functional.logsigmoid(beta * (chosenLogRatio - rejectedLogRatio)).mean();

    /// <summary>
    /// FLAT's loss −mean(g*(P_good) − f*(g*(P_bad))) with the variational pair (g*, f*) of each f-divergence
    /// (Wang et al., "LLM Unlearning via Loss Adjustment with only Forget Data", table 1).
    /// </summary>
    public static Tensor Flat(string divergence, Tensor good, Tensor bad)
    {
        Tensor G(Tensor v) => divergence switch
        {
            "tv" => 0.5 * v.tanh(),
            "js" => Math.Log(2) - (1 + (-v).exp()).log(),
            _ => v, // kl, pearson
        };
        Tensor FConjugate(Tensor t) => divergence switch
        {
            "kl" => (t - 1).exp(),
            "tv" => t,
            "js" => -(2 - t.exp()).log(),
            "pearson" => t * t / 4 + t,
            _ => throw new ArgumentException($"unknown FLAT divergence '{divergence}' (kl, tv, js, pearson)."),
        };
        return -(G(good) - FConjugate(G(bad))).mean();
    }

    /// <summary>θ ← θ_c − s·(θ − θ_c), with θ_c the reference (starting) weights.</summary>
    private static void NegateTaskVector(LlamaForCausalLM model, LlamaForCausalLM reference, double scale)
    {
        using var noGrad = no_grad();
        var start = reference.state_dict();
        foreach (var (name, p) in model.state_dict())
        {
            var c = start[name];
            p.copy_(c - scale * (p - c));
        }
    }

    /// <summary>KL(p_ref ‖ p_θ) per real position (<paramref name="mask"/> 1), averaged; the reference logits carry no gradient.</summary>
    private static Tensor KlFromReference(Tensor referenceLogits, Tensor logits, Tensor mask)
    {
        var referenceLogp = nn.functional.log_softmax(referenceLogits, -1);
        var logp = nn.functional.log_softmax(logits, -1);
        var perPosition = (referenceLogp.exp() * (referenceLogp - logp)).sum([-1L]);
        var real = mask.to(ScalarType.Float32);
        return (perPosition * real).sum() / real.sum();
    }
}
