using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Evaluation.Data;
using Uld.Forget.Configuration;
using Uld.Forget.Store;

namespace Uld.Forget.Worker;

/// <summary>
/// Trains a request's ULD assistant with <c>uld-trainer unlearn --method uld</c> (docs/FORGET-REQUESTS.md, *Training*):
/// against the deployment's target model, on the request's forget data (Summed) or on the union of every deployed
/// request's and this one's (Union), with the request's retain data or the deployment's, calibrated against the
/// deployment's holdout. The trainer checkpoints as it goes; a training interrupted by a stopped service resumes from
/// the checkpoint, after stopping a trainer the previous service process left running.
/// </summary>
public sealed partial class TrainingStep(ForgetOptions options, ForgetRequestStore store, TimeProvider clock, ILogger<TrainingStep> logger)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    /// <summary>Trains (or finds trained) the assistant; returns its description for the record.</summary>
    public async Task<JsonObject> RunAsync(RequestRecord request, CancellationToken cancellationToken)
    {
        var files = new RequestFiles(options.DataDirectory, request.Id);
        if (request.TrainerPid is { } pid && ChildProcess.StopLeftover(pid, files.Assistant))
            logger.LogWarning("Stopped the trainer (pid {Pid}) a previous service process left running for {Id}", pid, request.Id);
        var d = options.Deployments[request.Deployment];
        // A defect of the trainer (exit code 1, e.g. a native error under memory or CPU pressure) is tried again from the
        // checkpoint; bad input (exit code 2) would fail the same way again and is reported at once.
        for (var attempt = 0; !IsTrained(files.Assistant); attempt++)
        {
            var exit = await TrainOnceAsync(request, d, files, cancellationToken);
            if (exit.ExitCode == CliErrors.Defect && attempt < options.TrainingRetries)
            {
                store.Update(request.Id, r => r, $"uld-trainer failed ({exit.Reason}); training again from its last checkpoint", recordUnchangedState: true);
                continue;
            }
            if (exit.ExitCode != 0) throw new StepFailedException($"training failed (uld-trainer exit {exit.ExitCode}): {exit.Reason}");
            if (!IsTrained(files.Assistant)) throw new StepFailedException($"training ended without an assistant: {exit.Reason}");
        }
        return Describe(files.Assistant);
    }

    private async Task<ChildExit> TrainOnceAsync(RequestRecord request, ForgetDeploymentOptions d, RequestFiles files, CancellationToken cancellationToken)
    {
        var forget = d.Combination == Combination.Union ? WriteUnion(request, files) : files.Forget;
        var retain = request.Retain is not null ? files.Retain : d.RetainFile;
        List<string> arguments =
        [
            "unlearn", "--method", "uld", "--base", d.TargetModel, "--forget-file", forget,
            .. retain is null ? Array.Empty<string>() : ["--retain-file", retain],
            "--holdout-file", d.HoldoutFile, "-o", files.Assistant,
            "--checkpoint-every", options.CheckpointEvery.ToString(CultureInfo.InvariantCulture), .. d.TrainArguments,
        ];
        var resume = Directory.Exists(files.Assistant + ".checkpoint");
        if (resume) arguments.Add("--resume");
        store.Update(request.Id, r => r with { TrainArguments = arguments, Resumed = resume });
        var lastReport = DateTimeOffset.MinValue;
        var exit = await ChildProcess.RunAsync(ChildProcess.Resolve(options.Trainer, "Trainer", "uld-trainer"), arguments, files.TrainerLog,
            started: p => store.Update(request.Id, r => r with { TrainerPid = p }),
            onLine: line =>
            {
                if (Percent().Match(line) is not { Success: true } m || clock.GetUtcNow() - lastReport < ProgressInterval) return;
                lastReport = clock.GetUtcNow();
                var percent = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                store.Update(request.Id, r => r with { Progress = Math.Max(r.Progress, percent) });
            },
            cancellationToken);
        store.Update(request.Id, r => r with { TrainerPid = null });
        return exit;
    }

    private static bool IsTrained(string dir) => File.Exists(Path.Combine(dir, ModelManifest.FileName));

    /// <summary>The assistant as the audit record names it: where, the sha256 of its files, and what its manifest says of training.</summary>
    private static JsonObject Describe(string dir)
    {
        var manifest = ModelManifest.Load(Path.Combine(dir, ModelManifest.FileName));
        var metrics = manifest.Metrics;
        return new JsonObject
        {
            ["path"] = dir,
            ["base_model"] = manifest.BaseModel,
            ["method"] = manifest.Method,
            ["onnx_sha256"] = manifest.Files.GetValueOrDefault("onnx/model.onnx"),
            ["manifest_sha256"] = FileHash.Sha256(Path.Combine(dir, ModelManifest.FileName)),
            ["steps"] = metrics?["steps"]?.DeepClone(),
            ["train_seconds"] = metrics?["train_seconds"]?.DeepClone(),
            ["calibrated_alpha"] = metrics?["calibration"]?["recommended_alpha"]?.DeepClone(),
            ["final_forget_ce"] = metrics?["final_forget_ce"]?.DeepClone(),
            ["final_retain_kl"] = metrics?["final_retain_kl"]?.DeepClone(),
        };
    }

    /// <summary>Every deployed request's forget data of this deployment and this request's, in submission order, as one file.</summary>
    private string WriteUnion(RequestRecord request, RequestFiles files)
    {
        var parts = store.InState(request.Deployment, Contracts.Forget.ForgetStates.Deployed).Append(request).ToList();
        var kinds = parts.Select(p => p.Forget.Kind).Distinct().ToList();
        if (kinds.Count > 1)
            throw new StepFailedException($"the Union combination trains on one file of one format, but the deployed requests' forget data and this one's are {string.Join(" and ", kinds)} records.");
        var lines = parts.SelectMany(p => File.ReadLines(new RequestFiles(options.DataDirectory, p.Id).Forget).Where(l => l.Trim().Length > 0)).ToList();
        Uld.Contracts.AtomicFile.WriteAllText(files.UnionForget, string.Join('\n', lines) + "\n");
        _ = Corpus.Load(files.UnionForget); // the same reader the trainer uses: a bad union fails here, named
        return files.UnionForget;
    }

    [GeneratedRegex(@"(\d{1,3})%\s*$")]
    private static partial Regex Percent();
}
