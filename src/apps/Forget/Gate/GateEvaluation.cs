using System.Globalization;
using System.Text.Json.Nodes;
using Uld.Contracts.Forget;
using Uld.Forget.Configuration;
using Uld.Forget.Worker;

namespace Uld.Forget.Gate;

/// <summary>What the gate measured, before any threshold: the serving deployment and the candidate on the same data.</summary>
public sealed record GateMeasurements(SetMetrics ForgetBefore, SetMetrics ForgetAfter, SetMetrics Holdout, SetMetrics RetainBefore, SetMetrics RetainAfter, double? MiaAuc);

/// <summary>
/// Measures a candidate with <c>uld-eval corpus</c> through a replica's API (docs/FORGET-REQUESTS.md, *Gate*): one run
/// scores the serving deployment and the staged candidate on the forget data and the retain sample (with the holdout as
/// membership non-members), one more scores the serving deployment on the holdout as if it were forget data — the
/// level of text it never saw.
/// </summary>
public sealed class GateEvaluation(ForgetOptions options)
{
    public async Task<GateMeasurements> MeasureAsync(Uri replica, string serving, string staging, string forget, string retainSample,
        ForgetDeploymentOptions d, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var pair = await RunAsync(replica, [serving, staging], forget, retainSample, d.HoldoutFile, d, Path.Combine(directory, "forget.json"), cancellationToken);
        var unseen = await RunAsync(replica, [serving], d.HoldoutFile, retainSample, null, d, Path.Combine(directory, "holdout.json"), cancellationToken);
        var before = Result(pair, serving);
        var after = Result(pair, staging);
        return new GateMeasurements(Set(before, "forget"), Set(after, "forget"), Set(Result(unseen, serving), "forget"), Set(before, "retain"), Set(after, "retain"),
            after["mia_auc"]?.GetValue<double>());
    }

    private async Task<JsonNode> RunAsync(Uri replica, IReadOnlyList<string> deployments, string forget, string retain, string? holdout, ForgetDeploymentOptions d,
        string output, CancellationToken cancellationToken)
    {
        List<string> arguments = ["corpus", "--url", replica.ToString().TrimEnd('/')];
        foreach (var deployment in deployments) arguments.AddRange(["-m", deployment]);
        arguments.AddRange(["--forget", forget, "--retain", retain, "--max-records", d.GateMaxRecords.ToString(CultureInfo.InvariantCulture), "-o", output]);
        if (holdout is not null) arguments.AddRange(["--holdout", holdout]);
        arguments.AddRange(d.EvalArguments);
        var exit = await ChildProcess.RunAsync(ChildProcess.Resolve(options.Evaluator, "Eval", "uld-eval"), arguments, Path.Combine(Path.GetDirectoryName(output)!, "eval.log"),
            started: null, onLine: null, cancellationToken);
        if (exit.ExitCode != 0) throw new StepFailedException($"the gate's evaluation failed (uld-eval exit {exit.ExitCode}): {exit.Reason}");
        return JsonNode.Parse(await File.ReadAllTextAsync(output, cancellationToken))!;
    }

    private static JsonNode Result(JsonNode run, string deployment) =>
        run["results"]!.AsArray().FirstOrDefault(r => r!["deployment"]!.GetValue<string>() == deployment)
        ?? throw new StepFailedException($"the gate's evaluation has no result for '{deployment}'.");

    private static SetMetrics Set(JsonNode result, string set) =>
        new(result[set]!["knowmem"]?.GetValue<double>(), result[set]!["verbmem"]!.GetValue<double>(), result[set]!["passages"]!.GetValue<int>());
}
