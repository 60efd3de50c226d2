using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Bench.Processes;
using Uld.Contracts;

namespace Uld.Bench.ForgetRequests;

/// <summary>A trained assistant and what training it cost.</summary>
public sealed record TrainedAssistant(string Dir, int Examples, int Steps, double TrainSeconds, double ProcessSeconds, long PeakBytes);

/// <summary>
/// Trains the assistants the combinations need, each once: request j alone (Summed, and Union's first request) or
/// the union of requests 1..k (Union). The cost of a finished run is kept beside it, so a resumed benchmark reuses it.
/// </summary>
public sealed class AssistantTrainer(ForgetRequestsOptions o, RequestData data)
{
    public TrainedAssistant Train(Combination combination, int k)
    {
        var union = combination == Combination.Union && k > 1;
        var name = union ? $"union-1-{k}" : $"request-{k}";
        var forget = union ? data.Union(k) : data.Request(k);
        var dir = Path.Combine(o.WorkDir, "assistants", name);
        var costFile = dir + ".cost.json";
        if (!File.Exists(costFile))
        {
            var run = ChildCommand.Run(o.TrainerDll,
            [
                "unlearn", "--method", "uld", "--base", o.BaseDir, "--forget-file", forget, "--retain-file", data.RetainTrain,
                "--holdout-file", data.Holdout, "-o", dir, "--force", .. o.TrainArguments,
            ]);
            AtomicFile.WriteAllText(costFile, JsonSerializer.Serialize(new { seconds = run.Seconds, peak_bytes = run.PeakBytes }));
        }
        var cost = JsonNode.Parse(File.ReadAllText(costFile))!;
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!["metrics"]!;
        var examples = File.ReadLines(forget).Count(l => l.Trim().Length > 0);
        return new TrainedAssistant(dir, examples, metrics["steps"]!.GetValue<int>(), metrics["train_seconds"]!.GetValue<double>(),
            cost["seconds"]!.GetValue<double>(), cost["peak_bytes"]!.GetValue<long>());
    }
}
