using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench.ForgetRequests;

/// <summary>
/// <c>uld-bench forget-requests</c>: deletion requests arriving one after another against one served ULD deployment,
/// combined two ways (<see cref="Combination"/>). After each request it measures what adding it cost (training wall
/// time and peak memory, one <c>uld-trainer</c> process each), what serving the result costs (single-stream decode
/// speed beside the plain base, server memory) and — unless cost only — how well every request so far is forgotten
/// (KnowMem of its answers against the base's and against authors the base never saw) and what is kept (KnowMem on
/// retain authors no assistant trained on), through <c>uld-eval corpus</c>. Trained assistants and their costs are kept
/// under the work directory, so an interrupted run continues where it stopped.
/// </summary>
public static class ForgetRequestsBenchmark
{
    private const string Target = "target";
    private const string Forgetting = "forgetting";

    public static async Task<int> RunAsync(ForgetRequestsOptions o)
    {
        if (o.RequestAuthors.Count == 0) throw new UserErrorException("--requests needs at least one author.");
        if (!o.CostOnly && o.EvalDll is null) throw new UserErrorException("the forgetting measurements need uld-eval (--eval-dll), or pass --cost-only.");
        var data = RequestData.Write(o);
        var trainer = new AssistantTrainer(o, data);
        var stages = new List<StageResult>();
        double? unseenKnowMem = null;
        await AnsiConsole.Progress().StartAsync(async ctx =>
        {
            var task = ctx.AddTask("requests", maxValue: o.Combinations.Count * o.RequestAuthors.Count);
            foreach (var combination in o.Combinations)
            {
                for (var k = 1; k <= o.RequestAuthors.Count; k++)
                {
                    task.Description = $"{combination}: request {k}";
                    var added = trainer.Train(combination, k);
                    var assistants = combination == Combination.Summed
                        ? Enumerable.Range(1, k).Select(j => trainer.Train(Combination.Summed, j).Dir).ToList()
                        : [added.Dir];
                    var stage = await MeasuredStageAsync(o, data, combination, k, added, assistants);
                    if (!o.CostOnly && unseenKnowMem is null) unseenKnowMem = await UnseenLevelAsync(o, data, stage.Dir);
                    stages.Add(stage.Result);
                    // After every stage: a run stopped during the next (long) training keeps what it measured.
                    var remaining = o.Combinations.Count * o.RequestAuthors.Count - stages.Count;
                    WriteReport(o, stages, unseenKnowMem, remaining);
                    task.Increment(1);
                }
            }
        });
        AnsiConsole.WriteLine(ForgetRequestsReport.Markdown(o, stages, unseenKnowMem));
        return 0;
    }

    private static void WriteReport(ForgetRequestsOptions o, IReadOnlyList<StageResult> stages, double? unseenKnowMem, int remaining)
    {
        var report = ForgetRequestsReport.Markdown(o, stages, unseenKnowMem);
        if (remaining > 0) report += $"{Environment.NewLine}**Incomplete:** {remaining} stage(s) not measured yet; the same command continues where this stopped.{Environment.NewLine}";
        Directory.CreateDirectory(o.ResultsDir);
        AtomicFile.WriteAllText(Path.Combine(o.ResultsDir, o.ReportFile), report);
        AtomicFile.WriteAllText(Path.Combine(o.ResultsDir, Path.ChangeExtension(o.ReportFile, ".json")), JsonSerializer.Serialize(stages, Json.SnakeCase));
    }

    /// <summary>
    /// A stage measured by an earlier run is reused while it is newer than every assistant it served (stages cost tens of
    /// minutes of evaluation on a busy machine); otherwise it is served and measured, and kept.
    /// </summary>
    private static async Task<(string Dir, StageResult Result)> MeasuredStageAsync(ForgetRequestsOptions o, RequestData data, Combination combination, int k,
        TrainedAssistant added, IReadOnlyList<string> assistants)
    {
        var kept = Path.Combine(o.WorkDir, "stages", $"{combination.ToString().ToLowerInvariant()}-{k}", "result.json");
        if (File.Exists(kept) && assistants.All(a => File.GetLastWriteTimeUtc(Path.Combine(a, "manifest.json")) < File.GetLastWriteTimeUtc(kept)))
            return (Path.GetDirectoryName(kept)!, JsonSerializer.Deserialize<StageResult>(File.ReadAllText(kept), Json.SnakeCase)!);
        var stage = await ServeAndMeasureAsync(o, data, combination, k, added, assistants);
        AtomicFile.WriteAllText(kept, JsonSerializer.Serialize(stage.Result, Json.SnakeCase));
        return stage;
    }

    private static async Task<(string Dir, StageResult Result)> ServeAndMeasureAsync(ForgetRequestsOptions o, RequestData data, Combination combination, int k,
        TrainedAssistant added, IReadOnlyList<string> assistants)
    {
        var dir = Path.Combine(o.WorkDir, "stages", $"{combination.ToString().ToLowerInvariant()}-{k}");
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "deployments.json");
        AtomicFile.WriteAllText(config, Deployments(o.BaseDir, assistants).ToJsonString(Json.Options));
        await using var server = await ChildServer.StartAsync(o.ServerDll, new Dictionary<string, string> { ["config"] = config });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
        var (targetSpeed, forgettingSpeed) = await DecodeSpeedsAsync(http, o.DecodeTokens);
        var forgetting = new List<RequestForgetting>();
        double? retainKnowMem = null, retainKnowMemTarget = null;
        if (!o.CostOnly)
        {
            for (var j = 1; j <= k; j++)
            {
                var result = Evaluate(o, server.Address, data.Request(j), data, Path.Combine(dir, $"request-{j}.json"), Forgetting, Target);
                forgetting.Add(new RequestForgetting(j, o.RequestAuthors[j - 1], KnowMem(result, Forgetting, "forget"), KnowMem(result, Target, "forget"),
                    Metric(result, Forgetting, "mia_auc")));
                (retainKnowMem, retainKnowMemTarget) = (KnowMem(result, Forgetting, "retain"), KnowMem(result, Target, "retain"));
            }
        }
        return (dir, new StageResult(combination.ToString(), k, added.Examples, added.Steps, added.TrainSeconds, added.ProcessSeconds, added.PeakBytes,
            assistants.Count, forgettingSpeed, targetSpeed, server.PeakBytes, forgetting, retainKnowMem, retainKnowMemTarget));
    }

    /// <summary>The plain base and the forgetting deployment over it: one assistant (or several, summed), each at its calibrated α.</summary>
    private static JsonObject Deployments(string baseDir, IReadOnlyList<string> assistants)
    {
        var uld = new JsonObject
        {
            ["Name"] = Forgetting,
            ["Kind"] = "Uld",
            ["Base"] = baseDir,
            ["Rule"] = "SuppressOnly",
            ["AlphaMin"] = 0.0,
            ["AlphaMax"] = 8.0,
            ["RelativeTopDefault"] = 0.0,
            ["RelativeTopMin"] = 0.0,
        };
        if (assistants.Count == 1) uld["Assistant"] = assistants[0];
        else
        {
            // Each assistant at its own calibrated α: weights wᵢ = αᵢ under α = 1 serve l_base − Σ αᵢ·penaltyᵢ. (Without
            // weights the server would serve the sum at one α, its fallback when the assistants' calibrations differ.)
            uld["AlphaDefault"] = 1.0;
            uld["Assistants"] = new JsonArray([.. assistants.Select(a => (JsonNode)new JsonObject { ["Path"] = a, ["Alpha"] = CalibratedAlpha(a) })]);
        }
        return new JsonObject
        {
            ["LogitServer"] = new JsonObject
            {
                ["Deployments"] = new JsonArray(new JsonObject { ["Name"] = Target, ["Kind"] = "Plain", ["Model"] = baseDir }, uld),
            },
        };
    }

    private static double CalibratedAlpha(string assistant) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(assistant, "manifest.json")))?["metrics"]?["calibration"]?["recommended_alpha"]?.GetValue<double>()
        ?? throw new UserErrorException($"{assistant} records no calibrated α (metrics.calibration.recommended_alpha in its manifest).");

    /// <summary>Single-stream decode tokens/s of the base and of the forgetting deployment, interleaved over three rounds (median).</summary>
    private static async Task<(double Target, double Forgetting)> DecodeSpeedsAsync(HttpClient http, int tokens)
    {
        await LoadClient.StreamAsync(http, Target, LoadClient.Prompts[0], 8);
        await LoadClient.StreamAsync(http, Forgetting, LoadClient.Prompts[0], 8);
        var speeds = new Dictionary<string, List<double>> { [Target] = [], [Forgetting] = [] };
        for (var round = 0; round < 3; round++)
        {
            foreach (var deployment in speeds.Keys)
            {
                var clock = Stopwatch.StartNew();
                var (_, generated) = await LoadClient.StreamAsync(http, deployment, LoadClient.Prompts[round], tokens);
                speeds[deployment].Add(generated / clock.Elapsed.TotalSeconds);
            }
        }
        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        return (Median(speeds[Target]), Median(speeds[Forgetting]));
    }

    /// <summary>KnowMem of the base on authors it never saw: what a forgotten answer should come down to.</summary>
    private static async Task<double?> UnseenLevelAsync(ForgetRequestsOptions o, RequestData data, string stageDir)
    {
        var output = Path.Combine(o.WorkDir, "unseen.json");
        if (File.Exists(output)) return KnowMem(JsonNode.Parse(File.ReadAllText(output))!, Target, "forget");
        var config = Path.Combine(stageDir, "deployments.json");
        await using var server = await ChildServer.StartAsync(o.ServerDll, new Dictionary<string, string> { ["config"] = config });
        var result = Evaluate(o, server.Address, data.Holdout, data, Path.Combine(o.WorkDir, "unseen.json"), Target);
        return KnowMem(result, Target, "forget");
    }

    private static JsonNode Evaluate(ForgetRequestsOptions o, Uri server, string forget, RequestData data, string output, params string[] deployments)
    {
        var args = new List<string> { "corpus" };
        foreach (var d in deployments) args.AddRange(["-m", d]);
        args.AddRange(["--forget", forget, "--retain", data.RetainEval, "--holdout", data.Holdout, "--url", server.ToString().TrimEnd('/'), "-o", output]);
        ChildCommand.Run(o.EvalDll!, args);
        return JsonNode.Parse(File.ReadAllText(output))!;
    }

    private static JsonNode Result(JsonNode run, string deployment) =>
        run["results"]!.AsArray().First(r => r!["deployment"]!.GetValue<string>() == deployment)!;

    private static double? KnowMem(JsonNode run, string deployment, string set) => Result(run, deployment)[set]?["knowmem"]?.GetValue<double>();

    private static double? Metric(JsonNode run, string deployment, string name) => Result(run, deployment)[name]?.GetValue<double>();

    internal static string F(double? v, string format = "0.000") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
}

/// <summary>How well one request is forgotten by the deployment that serves it (and all requests before it).</summary>
public sealed record RequestForgetting(int Request, int Author, double? KnowMem, double? TargetKnowMem, double? MiaAuc);

/// <summary>The state after request <see cref="K"/> of one combination: what adding it cost and what serving looks like.</summary>
public sealed record StageResult(
    string Combination, int K, int TrainedExamples, int Steps, double TrainSeconds, double ProcessSeconds, long TrainerPeakBytes,
    int ServedAssistants, double DecodeTokensPerSecond, double TargetDecodeTokensPerSecond, long ServerPeakBytes,
    IReadOnlyList<RequestForgetting> Forgetting, double? RetainKnowMem, double? TargetRetainKnowMem);
