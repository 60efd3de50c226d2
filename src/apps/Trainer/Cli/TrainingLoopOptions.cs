using System.CommandLine;
using Uld.Contracts;
using Uld.Trainer.Training;

namespace Uld.Trainer.Cli;

/// <summary>
/// --epochs / --batch-size / --lr / --warmup / --final-lr / --clip / --seed / --optimizer (+ Sophia's --sophia-gamma,
/// --hessian-every), shared by <c>train</c> and <c>unlearn</c>:
/// each overrides one field of the method's own <see cref="TrainingOptions"/> defaults, so defaults live in one place.
/// </summary>
public sealed class TrainingLoopOptions
{
    public Option<int?> Epochs { get; } = new("--epochs") { Description = "passes over the training set (default: the method's)" };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "examples per step (default: the method's)" };
    public Option<double?> LearningRate { get; } = new("--lr") { Description = "peak learning rate (default: the method's)" };
    public Option<double?> Warmup { get; } = new("--warmup") { Description = "fraction of steps warming the learning rate up (default: the method's)" };
    public Option<double?> FinalLearningRate { get; } = new("--final-lr") { Description = "final learning rate as a fraction of the peak; 1 = constant (default: the method's)" };
    public Option<double?> Clip { get; } = new("--clip") { Description = "maximum gradient norm, 0 = none (default: the method's)" };
    public Option<int?> Seed { get; } = new("--seed") { Description = "seed of initialisation, batch order and dropout (default 1234)" };
    public Option<string?> Optimizer { get; } = new("--optimizer") { Description = "adamw, or sophia: SOUL's clipped second-order optimizer (default adamw)" };
    public Option<double?> SophiaGamma { get; } = new("--sophia-gamma") { Description = "Sophia: γ of the preconditioner max(γ·h, ε) (default 0.04)" };
    public Option<int?> HessianEvery { get; } = new("--hessian-every") { Description = "Sophia: steps between Hessian-diagonal estimates (default 10)" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Epochs, BatchSize, LearningRate, Warmup, FinalLearningRate, Clip, Seed, Optimizer, SophiaGamma, HessianEvery })
            command.Options.Add(option);
    }

    /// <summary>The method's defaults with what the command line sets.</summary>
    public TrainingOptions Apply(ParseResult parse, TrainingOptions defaults)
    {
        var o = defaults with
        {
            Epochs = parse.GetValue(Epochs) ?? defaults.Epochs,
            BatchSize = parse.GetValue(BatchSize) ?? defaults.BatchSize,
            LearningRate = parse.GetValue(LearningRate) ?? defaults.LearningRate,
            WarmupFraction = parse.GetValue(Warmup) ?? defaults.WarmupFraction,
            FinalLearningRateFraction = parse.GetValue(FinalLearningRate) ?? defaults.FinalLearningRateFraction,
            GradientClip = parse.GetValue(Clip) ?? defaults.GradientClip,
            Seed = parse.GetValue(Seed) ?? defaults.Seed,
            Optimizer = parse.GetValue(Optimizer)?.ToLowerInvariant() ?? defaults.Optimizer,
        };
        if (!TrainingOptimizer.Names.Contains(o.Optimizer)) throw new UserErrorException($"--optimizer is one of {string.Join(", ", TrainingOptimizer.Names)}.");
        var (gamma, every) = (parse.GetValue(SophiaGamma), parse.GetValue(HessianEvery));
        if (o.Optimizer == TrainingOptimizer.Sophia)
        {
            var sophia = o.Sophia ?? new SophiaOptions();
            o = o with { Sophia = sophia with { Gamma = gamma ?? sophia.Gamma, HessianEvery = every ?? sophia.HessianEvery } };
            if (o.Sophia.Gamma <= 0 || o.Sophia.HessianEvery < 1) throw new UserErrorException("--sophia-gamma must be positive and --hessian-every at least 1.");
        }
        else if (gamma is not null || every is not null) throw new UserErrorException("--sophia-gamma and --hessian-every go with --optimizer sophia.");
        if (o.Epochs <= 0 || o.BatchSize <= 0) throw new ArgumentException("--epochs and --batch-size must be positive.");
        if (o.LearningRate <= 0 || o.GradientClip < 0) throw new ArgumentException("--lr must be positive and --clip at least 0.");
        if (o.WarmupFraction is < 0 or > 1 || o.FinalLearningRateFraction is < 0 or > 1) throw new ArgumentException("--warmup and --final-lr are fractions in [0, 1].");
        return o;
    }
}
