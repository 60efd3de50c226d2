using Uld.Trainer.Data;

namespace Uld.Trainer.Training;

/// <summary>
/// Which examples make up the batch of a given step: epoch by epoch in the order <see cref="CausalLmTrainer.Batches"/>
/// fixes for (seed, epoch), computed once per epoch rather than once per step.
/// </summary>
public sealed class BatchPlan(IReadOnlyList<ChatExample> examples, int batchSize, int seed)
{
    private IReadOnlyList<int[]>? _batches;
    private int _epoch = -1;

    public int StepsPerEpoch { get; } = (examples.Count + batchSize - 1) / batchSize;

    public List<ChatExample> At(int step) => IndicesAt(step).Select(i => examples[i]).ToList();

    /// <summary>Indices (into the examples) of the step's batch, for data aligned with the examples.</summary>
    public int[] IndicesAt(int step)
    {
        var epoch = step / StepsPerEpoch;
        if (epoch != _epoch) (_batches, _epoch) = (CausalLmTrainer.Batches(examples, batchSize, seed, epoch), epoch);
        return _batches![step % StepsPerEpoch];
    }

    /// <summary>
    /// The step-th batch of an endless stream of reshuffled passes over <paramref name="examples"/>: the secondary set
    /// (retain data) that accompanies each batch of the primary one, whatever their sizes.
    /// </summary>
    public static List<ChatExample> Cycle(IReadOnlyList<ChatExample> examples, int batchSize, int seed, int step)
    {
        var order = CausalLmTrainer.Shuffle(examples.Count, seed, step * batchSize / examples.Count);
        return Enumerable.Range(step * batchSize, batchSize).Select(i => examples[order[i % examples.Count]]).ToList();
    }
}
