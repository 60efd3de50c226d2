namespace Uld.Trainer.Training;

/// <summary>Optimisation settings of a training run; recorded in the manifest as hyper-parameters.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 60;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 3e-3;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Fraction of steps spent warming the learning rate up linearly; it then decays linearly to 10%.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1234;
    /// <summary>Save a resumable checkpoint every this many steps (0 = only at the end).</summary>
    public int CheckpointEvery { get; init; } = 200;
}
