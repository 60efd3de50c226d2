using Uld.Trainer.Data;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// Next-token training on answer tokens (targets and retain models), run by the shared <see cref="TrainingLoop"/>;
/// also the batch order every loop uses and the answer loss tests and reports measure.
/// </summary>
public static class CausalLmTrainer
{
    public sealed record Progress(int Step, int TotalSteps, double Loss, double TokensPerSecond);
    /// <summary>Steps is the step reached; fewer than the plan when stopped early (resume continues from the checkpoint).</summary>
    public sealed record Result(RunRecord Run, double FinalLoss, double TokensPerSecond)
    {
        public int Steps => Run.Steps;
        public int PlannedSteps => Run.PlannedSteps;
        public TimeSpan Elapsed => Run.Elapsed;
    }


    /// <summary>Fresh weights: N(0, 0.02) for matrices, ones for norms, from the given seed.</summary>
    public static void Initialize(LlamaForCausalLM model, int seed)
    {
        manual_seed(seed);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) parameter.fill_(1.0);
            else parameter.normal_(0.0, 0.02);
        }
    }

    public static Result Train(LlamaForCausalLM model, IReadOnlyList<ChatExample> examples, TrainingOptions options, int padId,
        string? checkpointDirectory, bool resume, Action<Progress>? progress = null, int? stopAfterSteps = null) =>
        Train(model, examples, options, padId, new CheckpointPlan(checkpointDirectory, resume, options.CheckpointEvery, stopAfterSteps), progress);

    public static Result Train(LlamaForCausalLM model, IReadOnlyList<ChatExample> examples, TrainingOptions options, int padId,
        CheckpointPlan checkpoints, Action<Progress>? progress = null)
    {
        var result = TrainingLoop.Run(model, TrainingLoop.AllParameters(model), examples, options, $"train seed {options.Seed}, {examples.Count} examples",
            checkpoints, (_, indices) =>
            {
                var picked = indices.Select(i => examples[i]).ToList();
                var batch = TrainingBatch.Create(picked, padId);
                var (logits, _) = model.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds);
                var value = TrainingLoop.AnswerCrossEntropy(logits, batch.Targets);
                return new StepLoss(value, value.item<float>(), Tokens: picked.Sum(e => e.Tokens.Length), // real tokens, not padding
                    Curvature: new OutputCurvature(logits, batch.Targets));
            },
            p => progress?.Invoke(new Progress(p.Step, p.TotalSteps, p.Primary, p.TokensPerSecond)));
        return new Result(result.Run, result.FinalPrimary, result.TokensPerSecond);
    }

    /// <summary>Mean cross-entropy per answer token over all examples (no gradient).</summary>
    public static double AnswerLoss(LlamaForCausalLM model, IReadOnlyList<ChatExample> examples, int padId, int batchSize = 32)
    {
        using var noGrad = no_grad();
        double total = 0;
        long count = 0;
        foreach (var chunk in examples.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            using var batch = TrainingBatch.Create(chunk, padId);
            var (logits, _) = model.Forward(batch.InputIds, batch.AttentionMask, batch.PositionIds);
            total += nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Targets.view(-1),
                ignore_index: TrainingBatch.Ignore, reduction: nn.Reduction.Sum).item<float>();
            count += batch.AnswerTokens;
        }
        return total / count;
    }

    /// <summary>
    /// The epoch's batches, determined by (seed, epoch) alone: shuffle, sort each window of 8 batches by length so
    /// that a batch holds similar lengths (less padding, less wasted compute), then shuffle the batch order.
    /// </summary>
    public static IReadOnlyList<int[]> Batches(IReadOnlyList<ChatExample> examples, int batchSize, int seed, int epoch)
    {
        var order = Shuffle(examples.Count, seed, epoch);
        var window = 8 * batchSize;
        var sorted = order.Chunk(window).SelectMany(w => w.OrderByDescending(i => examples[i].Tokens.Length).ThenBy(i => i)).ToArray();
        var batches = sorted.Chunk(batchSize).ToArray();
        new Random(EpochSeed(seed, epoch) ^ 0x5bd1e995).Shuffle(batches);
        return batches;
    }

    /// <summary>
    /// A seed for one epoch that is the same in every process (HashCode.Combine is randomised per process, which would
    /// make a resumed run in a new process shuffle differently).
    /// </summary>
    private static int EpochSeed(int seed, int epoch) => (int)(((uint)seed * 2654435761u) ^ ((uint)epoch * 40503u)) & int.MaxValue;

    /// <summary>A permutation of [0, n) determined by (seed, epoch) alone.</summary>
    public static int[] Shuffle(int n, int seed, int epoch)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random(EpochSeed(seed, epoch)).Shuffle(order);
        return order;
    }
}
