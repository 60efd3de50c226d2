namespace Uld.Bench.ForgetRequests;

/// <summary>How several deletion requests end up in one served ULD deployment.</summary>
public enum Combination
{
    /// <summary>One assistant per request, each trained on that request's data alone: <c>l_base − Σ αᵢ·l_assistantᵢ</c>.</summary>
    Summed,
    /// <summary>One assistant retrained on the union of every request so far, replacing the previous one.</summary>
    Union,
}

/// <summary>What <c>uld-bench forget-requests</c> measures.</summary>
public sealed record ForgetRequestsOptions
{
    public required string TrainerDll { get; init; }
    public required string ServerDll { get; init; }
    /// <summary>uld-eval.dll; null with <see cref="CostOnly"/>.</summary>
    public string? EvalDll { get; init; }
    /// <summary>The served model the requests unlearn from (with its training weights).</summary>
    public required string BaseDir { get; init; }
    public required string TofuDir { get; init; }
    /// <summary>One request per author, in arrival order.</summary>
    public required IReadOnlyList<int> RequestAuthors { get; init; }
    /// <summary>Authors the base knows that no request names: the retain data every assistant trains with.</summary>
    public required IReadOnlyList<int> RetainTrainAuthors { get; init; }
    /// <summary>Authors the base knows, never trained on by an assistant: the utility the gate would check.</summary>
    public required IReadOnlyList<int> RetainEvalAuthors { get; init; }
    /// <summary>Authors the base never saw: the level a forgotten answer should fall to, and α's calibration reference.</summary>
    public required IReadOnlyList<int> HoldoutAuthors { get; init; }
    public IReadOnlyList<Combination> Combinations { get; init; } = [Combination.Summed, Combination.Union];
    /// <summary>Extra arguments of every <c>uld-trainer unlearn</c> (e.g. <c>--min-steps 100</c> for a quick run).</summary>
    public IReadOnlyList<string> TrainArguments { get; init; } = [];
    /// <summary>Training and serving cost only (random-weight shapes, where memorisation means nothing).</summary>
    public bool CostOnly { get; init; }
    public int DecodeTokens { get; init; } = 128;
    public required string WorkDir { get; init; }
    public required string ResultsDir { get; init; }
    public string ReportFile { get; init; } = "forget-requests.md";
}
