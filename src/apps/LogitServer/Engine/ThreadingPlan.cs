using Uld.Inference;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;

namespace Uld.LogitServer.Engine;

/// <summary>
/// The process's one threading plan, chosen from the core count before any session exists: which ONNX Runtime
/// sessions can run at the same moment, how many intra-op threads each gets, whether idle threads spin, and what
/// serves HTTP. The rule is that sessions running together never ask for more threads than there are cores.
/// </summary>
public sealed record ThreadingPlan
{
    public required int Cores { get; init; }
    /// <summary>One continuous-batching thread per deployment; it is also the calling thread of its session runs.</summary>
    public required int SchedulerThreads { get; init; }
    /// <summary>A two-session ULD pair runs base and assistant at once (each on half the cores) rather than one after the other.</summary>
    public required bool ConcurrentUldSessions { get; init; }
    /// <summary>Intra-op threads of every two-session ULD pair's sessions.</summary>
    public required int UldPairIntraOpThreads { get; init; }
    /// <summary>Intra-op threads of every other session (plain deployments, fused ULD graphs).</summary>
    public required int IntraOpThreads { get; init; }
    public required bool AllowSpinning { get; init; }
    /// <summary>Whether IntraOpThreads was set by the operator; then it holds for every session, small or not.</summary>
    public bool IntraOpThreadsSet { get; init; }

    /// <summary>
    /// Weights below this size get one intra-op thread. Their operators are too small to split: measured on
    /// stories260K (2 cores), one thread decodes 1.3–1.4× faster than two, at 1 and at 16 streams, since waking a
    /// second thread for every MatMul costs more than the half of the MatMul it would do.
    /// </summary>
    public const long SmallModelBytes = 64L << 20;

    public static ThreadingPlan For(LogitServerOptions options, int cores)
    {
        cores = Math.Max(1, cores);
        // Deployments whose steps run several sessions side by side (a two-session ULD pair, an offset trio).
        var twoSessionPairs = options.Deployments.Count(d => DeploymentKinds.Of(d)?.RunsSessionsSideBySide(d) == true);
        // Splitting the cores between the pair's sessions beats running them one after the other on all cores:
        // the per-operator work of a decode step is too small to spread over many threads.
        var concurrent = options.ParallelUldModels ?? cores >= 2;
        var pairThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : concurrent ? Math.Max(1, cores / 2) : cores;
        // Spinning threads only help when nothing else wants the cores: one deployment whose steps are one session run,
        // and no admin API that could load a second one beside it later.
        var alone = options.Deployments.Count <= 1 && !(concurrent && twoSessionPairs > 0) && !options.AdminApiEnabled;
        return new ThreadingPlan
        {
            Cores = cores,
            SchedulerThreads = options.Deployments.Count,
            ConcurrentUldSessions = concurrent,
            UldPairIntraOpThreads = pairThreads,
            IntraOpThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : cores,
            AllowSpinning = options.AllowSpinning ?? alone,
            IntraOpThreadsSet = options.IntraOpThreads > 0,
        };
    }

    /// <summary>Session settings for one of a deployment's sessions, whose weights take <paramref name="weightBytes"/>.</summary>
    public SessionSettings SessionFor(DeploymentOptions deployment, bool partOfPair, ExecutionProvider provider, long weightBytes) => new()
    {
        IntraOpThreads = weightBytes < SmallModelBytes && !IntraOpThreadsSet ? 1 : partOfPair ? UldPairIntraOpThreads : IntraOpThreads,
        AllowSpinning = AllowSpinning,
        ExecutionProvider = provider,
        DeviceId = deployment.DeviceId,
    };

    public void Log(ILogger logger)
    {
        ThreadPool.GetMinThreads(out var workers, out _);
        logger.LogInformation(
            "Threading plan: {Cores} cores; {Schedulers} scheduler threads (one per deployment); two-session ULD pairs run base and assistant {PairMode}, " +
            "{PairThreads} intra-op threads each; other sessions {IntraOp} intra-op threads ({Small} below {SmallMiB} MiB of weights); inter-op 1 (sequential graphs); spinning {Spinning}; " +
            "Kestrel and request handling on the .NET thread pool (min {Workers} workers)",
            Cores, SchedulerThreads, ConcurrentUldSessions ? "concurrently" : "one after the other", UldPairIntraOpThreads, IntraOpThreads,
            IntraOpThreadsSet ? IntraOpThreads : 1, SmallModelBytes >> 20,
            AllowSpinning ? "on" : "off", workers);
    }
}
