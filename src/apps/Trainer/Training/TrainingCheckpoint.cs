using System.Text.Json;
using Uld.Contracts;
using Uld.Trainer.Safetensors;
using Uld.Trainer.Model;

namespace Uld.Trainer.Training;

/// <summary>
/// Where and how often a training loop saves a resumable checkpoint (weights, optimizer moments, step), and whether
/// it continues from one. Shared by <c>train</c> and <c>unlearn</c>.
/// </summary>
/// <param name="Directory">checkpoint directory, or null for none</param>
/// <param name="Every">steps between checkpoints (0: only when stopped early)</param>
/// <param name="StopAfter">stop (with a checkpoint) after this many steps</param>
public sealed record CheckpointPlan(string? Directory, bool Resume = false, int Every = 200, int? StopAfter = null)
{
    public static readonly CheckpointPlan None = new(Directory: null);

    /// <summary>The step to start from: the checkpoint's when resuming, else 0.</summary>
    public int Start(LlamaForCausalLM model, ITrainingOptimizer optimizer, string fingerprint) =>
        Resume && Directory is not null ? TrainingCheckpoint.Load(Directory, model, optimizer, fingerprint) : 0;

    /// <summary>The step to stop before.</summary>
    public int End(int totalSteps) => StopAfter is { } stop ? Math.Min(totalSteps, stop) : totalSteps;

    /// <summary>Saves after <paramref name="step"/> steps when one is due: every N steps, and when stopping early.</summary>
    public void AfterStep(int step, int end, int totalSteps, LlamaForCausalLM model, ITrainingOptimizer optimizer, string fingerprint)
    {
        var interrupted = step == end && end < totalSteps;
        if (Directory is not null && step < totalSteps && (interrupted || (Every > 0 && step % Every == 0)))
            TrainingCheckpoint.Save(Directory, model, optimizer, step, fingerprint);
    }
}

/// <summary>A checkpoint on disk: model.safetensors, the optimizer's state (its own file) and state.json (step + the run's fingerprint).</summary>
public static class TrainingCheckpoint
{
    private sealed record State(int Step, string Fingerprint);

    public static void Save(string directory, LlamaForCausalLM model, ITrainingOptimizer optimizer, int step, string fingerprint)
    {
        // Written beside the checkpoint and swapped in, so a crash mid-save leaves the previous checkpoint intact.
        var staging = directory + ".saving";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        SafetensorsFile.Write(Path.Combine(staging, "model.safetensors"), LlamaWeights.Export(model));
        optimizer.Save(staging);
        File.WriteAllText(Path.Combine(staging, "state.json"), JsonSerializer.Serialize(new State(step, fingerprint), Json.Options));
        var old = directory + ".old";
        if (Directory.Exists(directory)) Directory.Move(directory, old);
        Directory.Move(staging, directory);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <returns>The step the checkpoint reached, or 0 when there is none.</returns>
    public static int Load(string directory, LlamaForCausalLM model, ITrainingOptimizer optimizer, string fingerprint)
    {
        var statePath = Path.Combine(directory, "state.json");
        if (!File.Exists(statePath)) return 0;
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(statePath), Json.Options)!;
        if (state.Fingerprint != fingerprint)
            throw new UserErrorException($"the checkpoint in {directory} belongs to another run ({state.Fingerprint}); this run is {fingerprint}. Delete it or drop --resume.");
        LlamaWeights.Load(model, SafetensorsFile.Read(Path.Combine(directory, "model.safetensors")).Tensors, directory);
        optimizer.Load(directory);
        return state.Step;
    }
}
