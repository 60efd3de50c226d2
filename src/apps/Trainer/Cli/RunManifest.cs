using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Trainer.Training;

namespace Uld.Trainer.Cli;

/// <summary>
/// The manifest of every model directory a training command writes (train, unlearn: ULD, gradient and offset), built
/// in one place so that all of them record the same things the same way: the configuration as given
/// (<c>hyperparameters</c>, training settings flattened beside the method's own) and what actually ran
/// (<c>metrics</c>: epochs, steps, examples per epoch, wall time, peak memory) from the loop's <see cref="RunRecord"/>.
/// <c>uld-bench train</c> reads its steps and epochs from here.
/// </summary>
public static class RunManifest
{
    /// <summary>
    /// A trained model's manifest: <paramref name="methodMetrics"/> (the method's own: final losses, parameters, …)
    /// followed by the run's record; <paramref name="trainPeakRssMib"/> is the process's peak right after training,
    /// the peak at this call is recorded beside it (merging, calibration and exporting included).
    /// </summary>
    public static ModelManifest Create(string name, string role, string method, string? baseModel, JsonObject hyperparameters,
        IReadOnlyList<DataFile>? trainingData, RunRecord run, long trainPeakRssMib, JsonObject? methodMetrics = null)
    {
        var metrics = methodMetrics?.DeepClone().AsObject() ?? [];
        metrics["epochs"] = run.Epochs;
        metrics["steps"] = run.Steps;
        metrics["steps_per_epoch"] = run.StepsPerEpoch;
        metrics["examples"] = run.Examples;
        metrics["train_seconds"] = Math.Round(run.Elapsed.TotalSeconds, 1);
        metrics["train_peak_rss_mib"] = trainPeakRssMib;
        metrics["peak_rss_mib"] = PeakRssMib();
        return new ModelManifest
        {
            Name = name,
            Role = role,
            BaseModel = baseModel,
            Method = method,
            Hyperparameters = hyperparameters,
            TrainingData = trainingData,
            Metrics = metrics,
        };
    }

    /// <summary>A method's options as a manifest records them: the shared training settings flattened beside the method's own.</summary>
    public static JsonObject Hyperparameters<T>(T options)
    {
        var hyper = JsonSerializer.SerializeToNode(options, Uld.Contracts.Json.SnakeCase)!.AsObject();
        if (hyper["training"] is JsonObject training)
        {
            hyper.Remove("training");
            foreach (var (name, value) in training.ToList()) { training.Remove(name); hyper[name] = value; }
        }
        return hyper;
    }

    /// <summary>
    /// Peak resident memory of this process so far (VmHWM on Linux): read once right after training (loading and
    /// training: the cost of the method) and once when the manifest is made.
    /// </summary>
    public static long PeakRssMib() => System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024);
}
