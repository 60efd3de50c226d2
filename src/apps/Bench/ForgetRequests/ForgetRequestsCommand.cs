using System.CommandLine;
using Uld.Bench.Processes;
using Uld.Cli;
using Uld.Contracts;

namespace Uld.Bench.ForgetRequests;

/// <summary>The <c>forget-requests</c> command line.</summary>
public static class ForgetRequestsCommand
{
    public static Command Create(Option<FileInfo> serverDll, Option<FileInfo> trainerDll, Option<DirectoryInfo> results)
    {
        var evalDll = new Option<FileInfo>("--eval-dll") { Description = "uld-eval.dll to run", DefaultValueFactory = _ => AppLocator.Default("Eval", "uld-eval") };
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "the served model the requests unlearn from (with its training weights)", DefaultValueFactory = _ => new DirectoryInfo("models/tofu-mini-target") };
        var tofu = new Option<DirectoryInfo>("--data") { Description = "TOFU directory", DefaultValueFactory = _ => new DirectoryInfo("../shared/data/tofu") };
        // Validation authors of data/tofu-mini.json: the design is chosen here, never on the test forget sets.
        var requests = new Option<int[]>("--requests") { Description = "one request per author, in arrival order", DefaultValueFactory = _ => [186, 187, 188], AllowMultipleArgumentsPerToken = true };
        var retainTrain = new Option<int[]>("--retain-train") { Description = "authors the assistants train with as retain data", DefaultValueFactory = _ => [180, 181, 182, 183, 184, 185], AllowMultipleArgumentsPerToken = true };
        var retainEval = new Option<int[]>("--retain-eval") { Description = "authors whose answers measure utility (no assistant trains on them)", DefaultValueFactory = _ => [0, 1, 2, 3, 4], AllowMultipleArgumentsPerToken = true };
        var holdout = new Option<int[]>("--holdout") { Description = "authors the base never saw", DefaultValueFactory = _ => [100, 101, 102, 103, 104], AllowMultipleArgumentsPerToken = true };
        var combinations = new Option<Combination[]>("--combination") { Description = "combinations to measure", DefaultValueFactory = _ => [Combination.Summed, Combination.Union], AllowMultipleArgumentsPerToken = true };
        var trainArgs = new Option<string?>("--train-arg") { Description = "extra uld-trainer unlearn arguments, e.g. \"--min-steps 100\"" };
        var costOnly = new Option<bool>("--cost-only") { Description = "training and serving cost only (random-weight shapes)" };
        var work = new Option<DirectoryInfo>("--work") { Description = "where data, assistants and stage results are written (resumable)", DefaultValueFactory = _ => new DirectoryInfo("artifacts/forget-requests") };
        var report = new Option<string>("--report") { Description = "results file name", DefaultValueFactory = _ => "forget-requests.md" };
        var command = new Command("forget-requests", "Deletion requests one after another: cost of each added request and forgetting per request, one assistant per request (summed) vs one retrained on the union.")
            { baseDir, tofu, requests, retainTrain, retainEval, holdout, combinations, trainArgs, costOnly, work, report, results, serverDll, trainerDll, evalDll };
        command.SetAction((parse, _) => CliErrors.RunAsync(parse, () => ForgetRequestsBenchmark.RunAsync(new ForgetRequestsOptions
        {
            TrainerDll = AppLocator.Require(parse.GetValue(trainerDll)!, "Trainer"),
            ServerDll = AppLocator.Require(parse.GetValue(serverDll)!, "LogitServer"),
            EvalDll = parse.GetValue(costOnly) ? null : AppLocator.Require(parse.GetValue(evalDll)!, "Eval"),
            BaseDir = parse.GetValue(baseDir)!.FullName,
            TofuDir = parse.GetValue(tofu)!.FullName,
            RequestAuthors = parse.GetValue(requests)!,
            RetainTrainAuthors = parse.GetValue(retainTrain)!,
            RetainEvalAuthors = parse.GetValue(retainEval)!,
            HoldoutAuthors = parse.GetValue(holdout)!,
            Combinations = parse.GetValue(combinations)!,
            TrainArguments = parse.GetValue(trainArgs)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [],
            CostOnly = parse.GetValue(costOnly),
            WorkDir = parse.GetValue(work)!.FullName,
            ResultsDir = parse.GetValue(results)!.FullName,
            ReportFile = parse.GetValue(report)!,
        })));
        return command;
    }
}
