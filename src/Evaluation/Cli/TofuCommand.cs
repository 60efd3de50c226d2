using System.CommandLine;
using Spectre.Console;
using Uld.Cli;
using Uld.Core;
using Uld.Core.Data;
using Uld.Evaluation.Client;
using Uld.Evaluation.Reports;
using Uld.Evaluation.Tofu;

namespace Uld.Evaluation.Cli;

/// <summary><c>tofu</c>: TOFU + MUSE-style metrics of deployments behind an OpenAI-compatible URL, as JSON and Markdown.</summary>
public static class TofuCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "base URL of LogitServer or the gateway", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var apiKey = new Option<string?>("--api-key") { Description = "bearer key (the gateway); default $ULD_API_KEY" };
        var models = new Option<string[]>("--model", "-m") { Description = "deployment to evaluate: name, name@alpha or name@alpha@r (repeat)", Required = true, AllowMultipleArgumentsPerToken = true };
        var retain = new Option<string?>("--retain-model") { Description = "deployment of the retain model (never saw the forget set): forget quality and PrivLeak are measured against it" };
        var data = new Option<DirectoryInfo>("--data") { Description = "TOFU directory", DefaultValueFactory = _ => new DirectoryInfo("../shared/data/tofu") };
        var split = new Option<FileInfo>("--split") { DefaultValueFactory = _ => new FileInfo("data/tofu-mini.json") };
        var forget = new Option<string>("--forget") { Description = "forget set of the split", DefaultValueFactory = _ => "forget4" };
        var maxQuestions = new Option<int>("--max-questions") { Description = "questions per set (TOFU's reference: 300)", DefaultValueFactory = _ => 300 };
        var maxTokens = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 200 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 16 };
        var questionFormat = new Option<string>("--question-format") { Description = "how questions are asked, {0} = the question (a paraphrase probe)", DefaultValueFactory = _ => "{0}" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "results JSON (a .md summary is written beside it)", Required = true };
        var command = new Command("tofu", "TOFU forget quality, model utility, ROUGE-L, truth ratio, and MUSE VerbMem/KnowMem/PrivLeak through the API.")
        {
            url, apiKey, models, retain, data, split, forget, maxQuestions, maxTokens, concurrency, questionFormat, output,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var definition = TofuSplitDefinition.Load(parse.GetValue(split)!.FullName);
            var sets = TofuEvalSets.Load(parse.GetValue(data)!.FullName, definition, parse.GetValue(forget)!, parse.GetValue(maxQuestions));
            var deployments = parse.GetValue(models)!.Select(DeploymentRef.Parse).ToList();
            var retainRef = parse.GetValue(retain) is { } r ? DeploymentRef.Parse(r) : null;
            using var http = UldApiClient.CreateHttp(BaseUrl(parse.GetValue(url)!), parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("ULD_API_KEY"));
            var format = parse.GetValue(questionFormat)!;
            if (!format.Contains("{0}", StringComparison.Ordinal)) throw new ArgumentException("--question-format must contain {0} (the question).");
            var options = new TofuEvaluationOptions { MaxNewTokens = parse.GetValue(maxTokens), Concurrency = parse.GetValue(concurrency), QuestionFormat = format };
            var run = await EvaluateAsync(new TofuEvaluator(new UldApiClient(http), sets, options), deployments, retainRef,
                parse.GetValue(forget)!, definition.Name, options, ct);
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(run, Json.Options));
            AtomicFile.WriteAllText(Path.ChangeExtension(path, ".md"), RunMarkdown.Write(run));
            AnsiConsole.Write(new Markup(Markup.Escape(RunMarkdown.Write(run))));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }

    public static Uri BaseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"--url '{text}' is not an http(s) URL.");

    /// <summary>Evaluates the retain model first (if given), then every deployment, comparing each with it.</summary>
    public static async Task<EvaluationRun> EvaluateAsync(TofuEvaluator evaluator, IReadOnlyList<DeploymentRef> deployments, DeploymentRef? retain,
        string forgetSet, string split, TofuEvaluationOptions options, CancellationToken ct)
    {
        var results = new List<DeploymentResult>();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var all = (retain is null ? deployments : deployments.Where(d => d != retain).Prepend(retain)).ToList();
                var tasks = all.Select(d => ctx.AddTask(Markup.Escape(d.ToString()), autoStart: false)).ToList();
                for (var i = 0; i < all.Count; i++)
                {
                    var task = tasks[i];
                    task.StartTask();
                    results.Add(await evaluator.EvaluateAsync(all[i], (done, total) => (task.MaxValue, task.Value) = (total, done), ct));
                    task.StopTask();
                }
            });
        if (retain is not null)
        {
            foreach (var result in results.Skip(1)) TofuEvaluator.CompareWithRetain(result, results[0]);
            TofuEvaluator.CompareWithRetain(results[0], results[0]);
        }
        return new EvaluationRun { ForgetSet = forgetSet, Split = split, RetainDeployment = retain?.ToString(), MaxNewTokens = options.MaxNewTokens, Results = results };
    }
}
