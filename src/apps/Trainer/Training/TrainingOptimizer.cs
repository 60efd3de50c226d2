using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Uld.Trainer.Training;

/// <summary>
/// What <see cref="TrainingLoop"/> steps: AdamW or Sophia (<see cref="TrainingOptions.Optimizer"/>). Its state is part
/// of a checkpoint, so each optimizer saves and restores it in its own format.
/// </summary>
public interface ITrainingOptimizer
{
    void SetLearningRate(double rate);
    void ZeroGrad();
    /// <summary>Called with the step's loss before its backward pass, while the forward graph is still alive.</summary>
    void BeforeBackward(int step, StepLoss loss);
    void Step();
    void Save(string directory);
    void Load(string directory);
}

public static class TrainingOptimizer
{
    public const string AdamW = "adamw";
    public const string Sophia = "sophia";
    public static readonly string[] Names = [AdamW, Sophia];

    public static ITrainingOptimizer Create(IReadOnlyList<Parameter> trainable, TrainingOptions options) => options.Optimizer switch
    {
        AdamW => new AdamWOptimizer(trainable, options),
        Sophia => new SophiaOptimizer(trainable, options.LearningRate, options.WeightDecay, options.Sophia ?? new SophiaOptions()),
        _ => throw new ArgumentException($"unknown optimizer '{options.Optimizer}'; known: {string.Join(", ", Names)}."),
    };

    /// <summary>
    /// The run's checkpoint fingerprint with the optimizer, so that a checkpoint is not resumed with the other one's
    /// state. AdamW adds nothing: checkpoints written before the choice existed still resume.
    /// </summary>
    public static string Fingerprint(string fingerprint, TrainingOptions options) =>
        options.Optimizer == AdamW ? fingerprint : $"{fingerprint}, optimizer {options.Optimizer}";

    /// <summary>TorchSharp's AdamW: moments saved with its own state-dict format (optimizer.bin).</summary>
    private sealed class AdamWOptimizer(IReadOnlyList<Parameter> trainable, TrainingOptions options) : ITrainingOptimizer
    {
        private readonly OptimizerHelper _adam = optim.AdamW(trainable, lr: options.LearningRate, weight_decay: options.WeightDecay);

        public void SetLearningRate(double rate)
        {
            foreach (var group in _adam.ParamGroups) group.LearningRate = rate;
        }

        public void ZeroGrad() => _adam.zero_grad();
        public void BeforeBackward(int step, StepLoss loss) { }
        public void Step() => _adam.step();
        public void Save(string directory) => _adam.save_state_dict(Path.Combine(directory, "optimizer.bin"));
        public void Load(string directory) => _adam.load_state_dict(Path.Combine(directory, "optimizer.bin"));
    }
}
