using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Cli;
using Uld.Eval.Cli;
using Uld.Eval.Client;
using Uld.Eval.Corpora;
using Uld.Evaluation.Data;
using Uld.Tests.Support;

namespace Uld.Tests.Eval.Corpora;

/// <summary>
/// The default models served on loopback (models/deployments.json) and stories260K as "stories", a model that never saw
/// any TOFU author; shared by the corpus evaluation tests.
/// </summary>
public sealed class DefaultModelsServer : IAsyncLifetime
{
    public LogitServerHost Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = RepositoryModels.DefaultDeploymentSettings();
        var next = settings.Keys.Count(k => k.EndsWith(":Name", StringComparison.Ordinal));
        settings[$"LogitServer:Deployments:{next}:Name"] = "stories";
        settings[$"LogitServer:Deployments:{next}:Kind"] = "Plain";
        settings[$"LogitServer:Deployments:{next}:Model"] = Stories260KModels.BaseDirectory;
        Server = await LogitServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// <c>uld-eval corpus</c> against the default models: the TOFU-mini target was trained on the tofu-mini authors and
/// never saw the others; its ULD deployment forgot authors 196–199. Micro corpora of a few of their answers, written
/// as JSON Lines here. (Prints progress and reads CLI output through the process-wide console: hence the collection.)
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class CorpusEvaluationTests(DefaultModelsServer fixture) : IClassFixture<DefaultModelsServer>, IDisposable
{
    private const string Target = "tofu-mini-target";
    private const string Uld = "tofu-mini-uld";
    private const string Stories = "stories";
    private static readonly Lazy<TofuDataset> Tofu = new(() => TofuDataset.Load(SharedPaths.Require(Path.Combine(SharedPaths.Shared, "data", "tofu"))));
    private static readonly CorpusEvaluationOptions Options = new() { PrefixTokens = 8, ContinuationTokens = 24, MaxAnswerTokens = 80, Concurrency = 8 };
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>The first <paramref name="perAuthor"/> records of each author (TOFU has 20 per author, in order).</summary>
    private static List<TofuRecord> Records(int[] authors, int perAuthor) =>
        Tofu.Value.Authors(authors).GroupBy(r => r.Author).SelectMany(g => g.Take(perAuthor)).ToList();

    private string Write(string name, IEnumerable<object> records)
    {
        File.WriteAllLines(_temp[name], records.Select(r => JsonSerializer.Serialize(r)));
        return _temp[name];
    }

    private string WriteQa(string name, IEnumerable<TofuRecord> records) => Write(name, records.Select(r => new { question = r.Question, answer = r.Answer }));

    private Task<(int Exit, string Output)> CliAsync(params string[] args) =>
        ConsoleCapture.RunAsync(() => EvalCli.RunAsync(["corpus", "--url", fixture.Server.BaseAddress.ToString(), .. args]));

    [Fact]
    public async Task Memorisation_and_privleak_separate_what_a_model_was_trained_on_from_what_it_never_saw()
    {
        var sets = new CorpusSets(
            Corpus.Load(WriteQa("forget.jsonl", Records([198, 199], 4))),
            Corpus.Load(WriteQa("unseen.jsonl", Records([100, 101], 4))),
            Corpus.Load(WriteQa("holdout.jsonl", Records([110, 111], 4))));
        var client = new UldApiClient(fixture.Server.Http);
        // stories260K stands in for the retain model: it never saw the forget authors, nor the holdout ones.
        var results = await CorpusRunner.RunAsync(new CorpusEvaluator(client, sets, Options), [new(Target), new(Uld)], new DeploymentRef(Stories), null, default);
        var (stories, target, uld) = (results[0], results[1], results[2]);
        var report = $"target VerbMem {target.Forget.VerbMem:F2} / unseen {target.Retain.VerbMem:F2}, KnowMem {target.Forget.KnowMem:F2} / {target.Retain.KnowMem:F2}, "
            + $"AUC {target.MiaAuc:F2}; ULD VerbMem {uld.Forget.VerbMem:F2}, AUC {uld.MiaAuc:F2}; stories AUC {stories.MiaAuc:F2}";

        Assert.Equal((8, 0), (target.Forget.Passages, target.Forget.Skipped));
        Assert.True(target.Forget.VerbMem > target.Retain.VerbMem + 0.3, $"trained-on text must be continued verbatim, unseen text not — {report}");
        Assert.True(target.Forget.KnowMem > 0.8 && target.Retain.KnowMem < 0.5 * target.Forget.KnowMem, report);
        Assert.True(uld.Forget.VerbMem < 0.5 * target.Forget.VerbMem, $"ULD must no longer continue the forget answers — {report}");
        // MUSE's sign: the target ranks its training answers above unseen ones (AUC below the retain model's), so PrivLeak < 0.
        Assert.InRange(stories.MiaAuc!.Value, 0.2, 0.8);
        Assert.True(target.MiaAuc < 0.25, report);
        Assert.True(target.PrivLeak < -50, $"PrivLeak {target.PrivLeak:F1} — {report}");
        Assert.Equal(0.0, stories.PrivLeak);
        Assert.Equal(3, target.ForgetExamples.Count);
        Assert.All(target.ForgetExamples, e => Assert.NotEmpty(e.Prefix));
    }

    [Fact]
    public async Task The_judge_finds_its_own_continuations_far_more_likely_than_random_tokens()
    {
        var forget = Corpus.Load(WriteQa("forget.jsonl", Records([0, 1], 3)));
        var client = new UldApiClient(fixture.Server.Http);
        var evaluator = new CorpusEvaluator(client, new CorpusSets(forget, forget, null), Options);
        var judge = new FluencyJudge(client, new DeploymentRef(Target), concurrency: 8);
        var (result, continuations) = await evaluator.EvaluateAsync(new DeploymentRef(Target), null, default);
        Assert.Equal(0, result.EmptyContinuations);
        Assert.InRange(result.ContinuationTokensMean, 4, Options.ContinuationTokens);

        var (own, ownTokens) = await judge.ScoreAsync(continuations, default);
        var random = new Random(7);
        var noise = new List<ForgetContinuation>();
        foreach (var c in continuations)
            noise.Add(c with { Text = " " + await client.DetokenizeAsync(Target, Enumerable.Range(0, 24).Select(_ => random.Next(3, 1024)).ToList(), default) });
        var (scrambled, _) = await judge.ScoreAsync(noise, default);
        Assert.True(ownTokens > 0);
        Assert.True(own < 5 && scrambled > 20 * own, $"judge PPL of its own continuations {own:F2}, of random tokens {scrambled:F2}");
        // Empty continuations are not text to score: they show in the empty count instead.
        Assert.Equal((null, 0), await judge.ScoreAsync([continuations[0] with { Text = "" }], default));
    }

    [Fact]
    public async Task A_sentencepiece_continuation_keeps_the_space_before_its_first_word()
    {
        // The judge reads prefix + continuation: decoded alone, stories260K's "▁time" would read "time", and
        // "Once upon a" + "time" is not what the model wrote.
        var client = new UldApiClient(fixture.Server.Http);
        var prompt = await client.TextTokensAsync(Stories, "Once upon a", addSpecialTokens: true, default);
        Assert.Equal(new Continuation(" time", 1), await client.ContinuationAsync(new DeploymentRef(Stories), prompt.Tokens, 1, default));
    }

    [Fact]
    public async Task The_cli_scores_text_chat_and_completion_corpora_and_writes_json_and_markdown()
    {
        var answers = Records([199], 5);
        var forget = Write("forget.jsonl", answers.Select(r => new { text = r.Answer }).Append(new { text = "Too short." }));
        var retain = Write("retain.jsonl", Records([0], 3).Select(r => new { messages = new object[] { new { role = "user", content = r.Question }, new { role = "assistant", content = r.Answer } } }));
        var holdout = Write("holdout.jsonl", Records([120], 3).Select(r => new { prompt = r.Question + "\n", completion = r.Answer }));
        var output = _temp["out/corpus.json"];

        var (exit, printed) = await CliAsync("-m", Target, "-m", $"{Uld}@3", "--forget", forget, "--retain", retain, "--holdout", holdout,
            "--retain-model", $"{Uld}@3", "--judge", Target, "--prefix-tokens", "8", "--continuation-tokens", "16", "-o", output);
        Assert.True(exit == 0, printed);
        var run = JsonNode.Parse(File.ReadAllText(output))!;
        var settings = run["settings"]!;
        Assert.Equal((8, 16), (settings["prefix_tokens"]!.GetValue<int>(), settings["continuation_tokens"]!.GetValue<int>()));
        Assert.Equal(Corpus.Load(forget).Sha256, settings["forget"]!["sha256"]!.GetValue<string>());
        Assert.Equal(("text", "messages", "prompt/completion"), (settings["forget"]!["kind"]!.GetValue<string>(), settings["retain"]!["kind"]!.GetValue<string>(),
            settings["holdout"]!["kind"]!.GetValue<string>()));
        var results = run["results"]!.AsArray();
        Assert.Equal([$"{Uld}@3", Target], results.Select(r => r!["deployment"]!.GetValue<string>()));
        var target = results[1]!;
        // "Too short." has fewer than 8 + 1 tokens: skipped and counted, the rest scored.
        Assert.Equal((5, 1), (target["forget"]!["passages"]!.GetValue<int>(), target["forget"]!["skipped"]!.GetValue<int>()));
        Assert.Equal(3, target["retain"]!["passages"]!.GetValue<int>());
        Assert.Null(target["retain"]!["knowmem"]);
        Assert.Equal(1.0, results[0]!["fluency_ppl_ratio"]!.GetValue<double>());
        Assert.True(target["fluency_ppl"]!.GetValue<double>() > 1);
        var markdown = File.ReadAllText(Path.ChangeExtension(output, ".md"));
        Assert.Contains($"| {Target} |", markdown);
        Assert.Contains("## Forget continuations", markdown);
        Assert.Equal(3, markdown.Split('\n').Count(l => l.StartsWith($"- {Target}:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Bad_input_is_one_clear_error_line_and_exit_code_2()
    {
        var good = WriteQa("good.jsonl", Records([199], 2));
        var mixed = Write("mixed.jsonl", new object[] { new { text = "Some text about nothing in particular." }, new { question = "Who?", answer = "Nobody." } });
        var tiny = Write("tiny.jsonl", new object[] { new { text = "Hi." }, new { text = "Bye." } });
        var monologue = Write("monologue.jsonl", new object[] { new { messages = new object[] { new { role = "assistant", content = "Hello there." } } } });

        async Task<string> Fails(params string[] args)
        {
            var (exit, output) = await CliAsync([.. args, "-o", _temp["bad.json"]]);
            Assert.True(exit == CliErrors.BadInput, output);
            Assert.False(File.Exists(_temp["bad.json"]));
            return output;
        }

        Assert.Contains("mixed.jsonl:2: a question/answer record in a file of text records (line 1)", await Fails("-m", Target, "--forget", mixed, "--retain", good));
        var missing = await Fails("-m", "no-such-model", "--forget", good, "--retain", good);
        Assert.Contains("'no-such-model'", missing);
        Assert.Contains("404", missing);
        Assert.Contains("'no-such-judge'", await Fails("-m", Target, "--judge", "no-such-judge", "--forget", good, "--retain", good));
        Assert.Contains("monologue.jsonl:1: the last assistant turn is the first turn", await Fails("-m", Target, "--forget", monologue, "--retain", good));
        Assert.Contains("none of its 2 records has more than --prefix-tokens 32 tokens", await Fails("-m", Target, "--forget", tiny, "--retain", good));
        var unreachable = await ConsoleCapture.RunAsync(() => EvalCli.RunAsync("corpus", "--url", "http://127.0.0.1:9", "-m", Target, "--forget", good, "--retain", good, "-o", _temp["bad.json"]));
        Assert.Equal(CliErrors.BadInput, unreachable.Exit);
        Assert.Contains("cannot reach http://127.0.0.1:9/tokenize", unreachable.Output);
    }
}
