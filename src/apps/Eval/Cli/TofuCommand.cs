using System.CommandLine;
using Uld.Cli;
using Uld.Contracts;
using Uld.Evaluation.Data;
using Uld.Eval.Client;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary><c>tofu</c>: TOFU + MUSE-style metrics of deployments behind an OpenAI-compatible URL, as JSON and Markdown.</summary>
public static class TofuCommand
{
    public static Command Create()
    {
        var common = new EvalOptions("http://127.0.0.1:8000");
        var models = EvalOptions.Deployments();
        var retain = new Option<string?>("--retain-model") { Description = "deployment of the retain model (never saw the forget set): forget quality and PrivLeak are measured against it" };
        var retainResults = new Option<FileInfo>("--retain-results")
        { Description = "an earlier run's results JSON holding --retain-model's result on the same questions: compare with it instead of evaluating the retain model again" }.AcceptExistingOnly();
        var maxTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 200 };
        var concurrency = EvalOptions.Concurrency();
        var questionFormat = new Option<string>("--question-format") { Description = "how questions are asked, {0} = the question (a paraphrase probe)", DefaultValueFactory = _ => "{0}" };
        var output = EvalOptions.ResultsOutput();
        var command = new Command("tofu", "TOFU forget quality, model utility, ROUGE-L, truth ratio, and MUSE VerbMem/KnowMem/PrivLeak through the API.")
        {
            models, retain, retainResults, maxTokens, concurrency, questionFormat, output,
        };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliErrors.RunAsync(parse, async () =>
        {
            var definition = common.LoadSplit(parse);
            var sets = common.LoadSets(parse, definition);
            var deployments = parse.GetValue(models)!.Select(DeploymentRef.Parse).ToList();
            var retainRef = parse.GetValue(retain) is { } r ? DeploymentRef.Parse(r) : null;
            using var http = common.CreateHttp(parse);
            var format = parse.GetValue(questionFormat)!;
            if (!format.Contains("{0}", StringComparison.Ordinal)) throw new UserErrorException("--question-format must contain {0} (the question).");
            var options = new TofuEvaluationOptions { MaxNewTokens = parse.GetValue(maxTokens), Concurrency = parse.GetValue(concurrency), QuestionFormat = format };
            var earlier = parse.GetValue(retainResults) is { } file ? RetainResultOf(EvaluationRun.Load(file.FullName), retainRef, parse.GetValue(common.Forget)!, file.Name) : null;
            var run = await EvaluateAsync(new TofuEvaluator(new UldApiClient(http), sets, options), deployments, retainRef,
                parse.GetValue(common.Forget)!, definition.Name, options, ct, earlier);
            EvalOptions.WriteResults(parse.GetValue(output)!.FullName, run.ToJson(), RunMarkdown.Write(run));
            return 0;
        }));
        return command;
    }

    /// <summary>Evaluates the retain model first (if given), then every deployment, comparing each with it.</summary>
    /// <param name="retainResult">the retain model's result from an earlier run on the same questions; it is not evaluated again</param>
    public static async Task<EvaluationRun> EvaluateAsync(TofuEvaluator evaluator, IReadOnlyList<DeploymentRef> deployments, DeploymentRef? retain,
        string forgetSet, string split, TofuEvaluationOptions options, CancellationToken ct, DeploymentResult? retainResult = null)
    {
        var all = (retain is null ? deployments : deployments.Where(d => d != retain).Prepend(retain)).Skip(retainResult is null ? 0 : 1).ToList();
        var results = await DeploymentProgress.RunAsync(all, (d, progress) => evaluator.EvaluateAsync(d, progress, ct));
        if (retainResult is not null) results.Insert(0, retainResult);
        if (retain is not null)
        {
            foreach (var result in results.Skip(1)) TofuEvaluator.CompareWithRetain(result, results[0]);
            TofuEvaluator.CompareWithRetain(results[0], results[0]);
            foreach (var result in results.Where(r => r != retainResult)) await evaluator.ScoreFluencyAsync(result, retain, ct);
        }
        return new EvaluationRun { ForgetSet = forgetSet, Split = split, RetainDeployment = retain?.ToString(), MaxNewTokens = options.MaxNewTokens, Results = results };
    }

    private static DeploymentResult RetainResultOf(EvaluationRun run, DeploymentRef? retain, string forgetSet, string file)
    {
        if (retain is null) throw new UserErrorException("--retain-results needs --retain-model (the deployment whose result it holds).");
        if (run.ForgetSet != forgetSet) throw new UserErrorException($"{file} was measured on {run.ForgetSet}, not {forgetSet}.");
        return run.Results.FirstOrDefault(r => r.Deployment == retain.ToString())
            ?? throw new UserErrorException($"{file} holds no result for '{retain}'.");
    }
}
