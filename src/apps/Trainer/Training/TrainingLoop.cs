using System.Diagnostics;
using Uld.Trainer.Data;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>One step's loss from a method: the tensor to minimise and the terms it reports (e.g. forget and retain).</summary>
/// <param name="Tokens">real tokens the step consumed, for the tokens/s rate</param>
/// <param name="Curvature">one of the step's forward passes, for an optimizer that estimates curvature from it (Sophia)</param>
public sealed record StepLoss(Tensor Value, double Primary, double Secondary = 0, long Tokens = 0, OutputCurvature? Curvature = null);

/// <summary>
/// A batch the step ran forward (graph kept) and its targets, which say which positions count: the logits at chosen
/// positions are taken from the step's full logits, or — when the step never built those — computed on demand from its
/// hidden states, so that a step with chunked losses pays for them only when an optimizer asks.
/// </summary>
public sealed class OutputCurvature
{
    private readonly Func<Tensor, Tensor> _logitsAt;

    public OutputCurvature(Tensor logits, Tensor targets) : this(rows => logits.view(-1, logits.shape[^1]).index_select(0, rows), targets) { }

    private OutputCurvature(Func<Tensor, Tensor> logitsAt, Tensor targets) => (_logitsAt, Targets) = (logitsAt, targets);

    /// <summary>[batch, seq] targets of the batch.</summary>
    public Tensor Targets { get; }

    /// <summary>From final-norm hidden states [batch, seq, hidden] and the output weight [vocab, hidden].</summary>
    public static OutputCurvature FromHidden(Tensor hidden, Tensor outputWeight, Tensor targets) =>
        new(rows => hidden.reshape(-1, hidden.shape[^1]).index_select(0, rows).matmul(outputWeight.t()), targets);

    /// <summary>Logits [rows, vocab] at the flattened positions <paramref name="rows"/>, with gradient.</summary>
    public Tensor LogitsAt(Tensor rows) => _logitsAt(rows);
}

public sealed record LoopProgress(int Step, int TotalSteps, double Primary, double Secondary, double TokensPerSecond);

/// <summary>The loop's <see cref="RunRecord"/> and its last losses.</summary>
public sealed record LoopResult(RunRecord Run, double FinalPrimary, double FinalSecondary, double TokensPerSecond);

/// <summary>
/// The training loop every method shares: AdamW or Sophia (<see cref="TrainingOptimizer"/>) over the trainable parameters, warm-up then linear decay, gradient
/// clipping, resumable checkpoints and progress. A method supplies only its loss for a step's batch (indices into the
/// examples that define an epoch). The batch order is a pure function of (seed, epoch), the random generator is
/// re-seeded every step (dropout masks), and a checkpoint holds weights, optimizer moments and the step, so a resumed
/// run continues exactly where an uninterrupted one would be.
/// </summary>
public static class TrainingLoop
{
    public static LoopResult Run(LlamaForCausalLM model, IReadOnlyList<TorchSharp.Modules.Parameter> trainable, IReadOnlyList<ChatExample> examples,
        TrainingOptions options, string fingerprint, CheckpointPlan checkpoints, Func<int, int[], StepLoss> loss, Action<LoopProgress>? progress = null)
    {
        if (examples.Count == 0) throw new ArgumentException("there are no training examples.");
        var plan = new BatchPlan(examples, options.BatchSize, options.Seed);
        var totalSteps = options.Epochs * plan.StepsPerEpoch;
        var optimizer = TrainingOptimizer.Create(trainable, options);
        fingerprint = TrainingOptimizer.Fingerprint(fingerprint, options);
        var start = checkpoints.Start(model, optimizer, fingerprint);
        var end = checkpoints.End(totalSteps);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        double primary = double.NaN, secondary = double.NaN;
        double Rate() => tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);

        model.train();
        for (var step = start; step < end; step++)
        {
            manual_seed(options.Seed + step);
            optimizer.SetLearningRate(options.LearningRateAt(step, totalSteps));
            using (NewDisposeScope())
            {
                var value = loss(step, plan.IndicesAt(step));
                optimizer.ZeroGrad();
                optimizer.BeforeBackward(step, value);
                value.Value.backward();
                if (options.GradientClip > 0) nn.utils.clip_grad_norm_(trainable, options.GradientClip);
                optimizer.Step();
                (primary, secondary) = (value.Primary, value.Secondary);
                tokens += value.Tokens;
            }
            progress?.Invoke(new LoopProgress(step + 1, totalSteps, primary, secondary, Rate()));
            checkpoints.AfterStep(step + 1, end, totalSteps, model, optimizer, fingerprint);
        }
        model.eval();
        return new LoopResult(new RunRecord(options.Epochs, examples.Count, plan.StepsPerEpoch, end, totalSteps, clock.Elapsed), primary, secondary, Rate());
    }

    /// <summary>Every parameter of the model, made trainable.</summary>
    public static IReadOnlyList<TorchSharp.Modules.Parameter> AllParameters(LlamaForCausalLM model)
    {
        var parameters = model.parameters().ToList();
        foreach (var p in parameters) p.requires_grad_(true);
        return parameters;
    }

    /// <summary>Mean cross-entropy per answer token of a batch.</summary>
    public static Tensor AnswerCrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1), ignore_index: TrainingBatch.Ignore);
}
