using System.CommandLine;
using Uld.Cli;
using Uld.Contracts;
using Uld.Eval.Client;
using Uld.Eval.Corpora;
using Uld.Eval.Reports;
using Uld.Evaluation.Data;

namespace Uld.Eval.Cli;

/// <summary><c>corpus</c>: MUSE-style memorisation, PrivLeak and fluency of deployments on the user's own JSON Lines corpora.</summary>
public static class CorpusCommand
{
    public static Command Create()
    {
        var common = new EvalOptions("http://127.0.0.1:8000");
        var models = EvalOptions.Deployments();
        var forget = Existing("--forget", "forget corpus (JSON Lines: text, question/answer, prompt/completion or messages records)", required: true);
        var retain = Existing("--retain", "retain corpus: what the deployments should still know", required: true);
        var holdout = Existing("--holdout", "corpus like the forget one that no model was trained on: PrivLeak's non-members", required: false);
        var retainModel = new Option<string?>("--retain-model") { Description = "deployment of the retain model (never saw the forget corpus): PrivLeak and the fluency ratio are relative to it" };
        var judge = new Option<string?>("--judge") { Description = "deployment that never saw the corpus: fluency = perplexity of the forget continuations under it" };
        var prefix = new Option<int>("--prefix-tokens") { Description = "k: passage tokens given as the prompt", DefaultValueFactory = _ => 32 };
        var continuation = new Option<int>("--continuation-tokens") { Description = "tokens generated and compared with the true ones", DefaultValueFactory = _ => 64 };
        var answerTokens = new Option<int>("--max-answer-tokens") { Description = "greedy answer cap for KnowMem (question/answer corpora)", DefaultValueFactory = _ => 200 };
        var maxRecords = new Option<int?>("--max-records") { Description = "read at most this many records of each file" };
        var concurrency = EvalOptions.Concurrency();
        var output = EvalOptions.ResultsOutput();
        var command = new Command("corpus", "VerbMem, KnowMem, PrivLeak and fluency of deployments on your own forget / retain / holdout corpora, through the API.")
        {
            models, forget, retain, holdout, retainModel, judge, prefix, continuation, answerTokens, maxRecords, concurrency, output,
        };
        common.AddServerTo(command);
        command.SetAction((parse, ct) => CliErrors.RunAsync(parse, async () =>
        {
            var options = new CorpusEvaluationOptions
            {
                PrefixTokens = Positive(parse.GetValue(prefix), "--prefix-tokens"), ContinuationTokens = Positive(parse.GetValue(continuation), "--continuation-tokens"),
                MaxAnswerTokens = Positive(parse.GetValue(answerTokens), "--max-answer-tokens"), Concurrency = Positive(parse.GetValue(concurrency), "--concurrency"),
            };
            var limit = parse.GetValue(maxRecords) is { } n ? Positive(n, "--max-records") : (int?)null;
            Corpus? Read(Option<FileInfo> option) => parse.GetValue(option) is { } file ? Limited(Corpus.Load(file.FullName), limit) : null;
            var sets = new CorpusSets(Read(forget)!, Read(retain)!, Read(holdout));
            var deployments = parse.GetValue(models)!.Select(DeploymentRef.Parse).ToList();
            var retainRef = parse.GetValue(retainModel) is { } r ? DeploymentRef.Parse(r) : null;
            var judgeRef = parse.GetValue(judge) is { } j ? DeploymentRef.Parse(j) : null;
            using var http = common.CreateHttp(parse);
            var client = new UldApiClient(http);
            // An unknown name fails now, not after the other deployments have been evaluated.
            foreach (var model in deployments.Append(retainRef).Append(judgeRef).OfType<DeploymentRef>().Select(d => d.Model).Distinct())
                await client.TextTokensAsync(model, "", addSpecialTokens: true, ct);
            var results = await CorpusRunner.RunAsync(new CorpusEvaluator(client, sets, options), deployments, retainRef,
                judgeRef is null ? null : new FluencyJudge(client, judgeRef, options.Concurrency), ct);
            var run = new CorpusRun
            {
                Settings = new CorpusSettings
                {
                    PrefixTokens = options.PrefixTokens, ContinuationTokens = options.ContinuationTokens, MaxAnswerTokens = options.MaxAnswerTokens,
                    MaxRecords = limit, MinKFraction = options.MinKFraction, RetainDeployment = retainRef?.ToString(), Judge = judgeRef?.ToString(),
                    Forget = Describe(sets.Forget), Retain = Describe(sets.Retain), Holdout = sets.Holdout is { } h ? Describe(h) : null,
                },
                Results = results,
            };
            EvalOptions.WriteResults(parse.GetValue(output)!.FullName, run.ToJson(), CorpusMarkdown.Write(run));
            return 0;
        }));
        return command;
    }

    private static Option<FileInfo> Existing(string name, string description, bool required) =>
        new Option<FileInfo>(name) { Description = description, Required = required }.AcceptExistingOnly();

    private static int Positive(int value, string option) => value > 0 ? value : throw new UserErrorException($"{option} must be at least 1 (got {value}).");

    private static Corpus Limited(Corpus corpus, int? limit) => limit is { } n && corpus.Count > n ? corpus with { Records = corpus.Records.Take(n).ToList() } : corpus;

    private static CorpusFile Describe(Corpus corpus) => new(corpus.Name, Corpus.Describe(corpus.Kind), corpus.Count, corpus.Sha256);
}
