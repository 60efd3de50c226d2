using System.Diagnostics;
using Uld.Inference;
using Uld.LogitServer.Deployments;

namespace Uld.LogitServer.Engine;

/// <summary>
/// One step of a deployment's Contract 2 sessions: the base (or a fused ULD graph, which takes α per row) and its
/// companions (a two-session ULD pair's assistant, an offset deployment's unlearned and reference models) — the
/// companions one after the other beside the base when the threading plan gives them their own cores.
/// </summary>
internal sealed class SessionRunner(Deployment deployment, bool concurrent, string label)
{
    /// <summary>Runs every session on the same rows; each session continues its own past (null: an empty one).</summary>
    public StepLogits Run(long[] ids, long[] mask, long[] positions, int batch, KvCache? basePast, KvCache[]? companionPast,
        LogitPositions keep, float[] alphas)
    {
        var companions = deployment.CompanionModels;
        DecoderStep RunBase()
        {
            var model = deployment.BaseModel;
            using var empty = basePast is null ? model.EmptyCache(batch) : null;
            return model.Run(ids, mask, positions, batch, basePast ?? empty!, keep, deployment.Kind.BaseTakesAlpha ? alphas : null);
        }
        DecoderStep[] RunCompanions()
        {
            var steps = new List<DecoderStep>(companions.Count);
            try
            {
                for (var i = 0; i < companions.Count; i++)
                {
                    using var empty = companionPast is null ? companions[i].EmptyCache(batch) : null;
                    steps.Add(companions[i].Run(ids, mask, positions, batch, companionPast?[i] ?? empty!, keep));
                }
                return [.. steps];
            }
            catch
            {
                foreach (var step in steps) step.Present.Dispose();
                throw;
            }
        }

        return Step(RunBase, RunCompanions, companions.Count, concurrent, label);
    }

    /// <summary>
    /// One step of a deployment's sessions, whatever cache they use (<see cref="ConcatBatch"/>, <see cref="SlotBatch"/>):
    /// the base, then its companions — or the companions beside the base when the threading plan gives them their own
    /// cores — timed as the engine's session time.
    /// </summary>
    public static StepLogits Step(Func<DecoderStep> runBase, Func<DecoderStep[]> runCompanions, int companions, bool concurrent, string label)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (companions == 0) return new StepLogits(runBase(), []);
            if (!concurrent) return new StepLogits(runBase(), runCompanions());
            return RunConcurrently(runBase, runCompanions);
        }
        finally
        {
            EngineMetrics.EngineSeconds.WithLabels(label, "session").Inc(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static StepLogits RunConcurrently(Func<DecoderStep> runBase, Func<DecoderStep[]> runCompanions)
    {
        var companionTask = Task.Run(runCompanions);
        DecoderStep baseStep;
        try
        {
            baseStep = runBase();
        }
        catch
        {
            try
            {
                foreach (var step in companionTask.GetAwaiter().GetResult()) step.Present.Dispose();
            }
            catch (Exception) { /* the base failure is the one to report */ }
            throw;
        }
        return new StepLogits(baseStep, companionTask.GetAwaiter().GetResult());
    }
}
