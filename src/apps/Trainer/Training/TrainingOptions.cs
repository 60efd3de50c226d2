using System.Text.Json.Serialization;

namespace Uld.Trainer.Training;

/// <summary>
/// Optimisation settings of a training run, shared by every method (target training, the gradient baselines, the ULD
/// assistant); recorded in the manifest as hyper-parameters.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>The target's 25 (<c>train</c>); the ULD assistant (40) and the gradient baselines (5) set their own.</summary>
    public int Epochs { get; init; } = 25;
    public int BatchSize { get; init; } = 16;
    /// <summary>adamw, or sophia (SOUL's clipped second-order optimizer, <see cref="SophiaOptimizer"/>).</summary>
    public string Optimizer { get; init; } = TrainingOptimizer.AdamW;
    /// <summary>Sophia's settings when <see cref="Optimizer"/> is sophia (null: its defaults); not recorded for AdamW.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SophiaOptions? Sophia { get; init; }
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 3e-3;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Fraction of steps spent warming the learning rate up linearly (at least one step).</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>After warm-up the learning rate decays linearly to this fraction of its peak (1 = constant).</summary>
    public double FinalLearningRateFraction { get; init; } = 0.1;
    /// <summary>Maximum global gradient norm (0 = no clipping).</summary>
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1234;
    /// <summary>Save a resumable checkpoint every this many steps (0 = only when stopped early).</summary>
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>The learning rate of step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(int step, int totalSteps)
    {
        var warmup = Math.Max(1, (int)(WarmupFraction * totalSteps));
        if (step < warmup) return LearningRate * (step + 1) / warmup;
        var progress = (double)(step - warmup) / Math.Max(1, totalSteps - warmup);
        return LearningRate * (1.0 - (1.0 - FinalLearningRateFraction) * progress);
    }
}
