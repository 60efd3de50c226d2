using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Eval.Cli;
using Uld.Tests.Support;
using Uld.Trainer.Cli;
using Uld.Trainer.Unlearning;

namespace Uld.Tests.EndToEnd;

/// <summary>
/// A user's own JSON Lines files, end to end on stories260K: fine-tune a target on them, unlearn the forget file with
/// ULD and every baseline (raw text, question/answer and conversation records), serve the results on a real LogitServer
/// and evaluate them through the API with <c>uld-eval corpus</c>.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class OwnDataEndToEndTests : IDisposable
{
    private static readonly string[] Stories =
    [
        "Pim the red fox lived under the old oak tree. Every morning Pim ran to the river to drink and to look at the fish.",
        "Zara had a yellow kite with a long tail. When the wind came, Zara let the kite fly high above the green hill.",
        "Tobble the small bear could not find his blue hat. He looked under his bed and in the garden, and then he smiled.",
        "Mira baked a cake for her friend Lulu. The cake was big and sweet, and they ate it together in the warm kitchen.",
        "Once upon a time, a little duck named Quack swam in the pond. Quack liked to splash and play with the frogs all day.",
        "Ben and his dog Spot went to the park. Spot found a stick and Ben threw it far, and Spot ran fast to get it back.",
        "Lily saw a big rainbow after the rain. She ran to tell her mom, and they both looked at the pretty colors in the sky.",
        "Tom had a toy car that could go very fast. One day the car broke, and his dad helped him fix it with some glue.",
    ];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, IEnumerable<object> records)
    {
        File.WriteAllLines(_temp[name], records.Select(r => JsonSerializer.Serialize(r)));
        return _temp[name];
    }

    /// <summary>Runs one unlearning that must succeed; if it does not, the test fails with what the CLI printed.</summary>
    private void Unlearn(string method, string output, params string[] data) => RunUnlearn(0, method, output, data);

    /// <summary>Runs one unlearning that must be refused as bad input.</summary>
    private void UnlearnRefused(string method, string output, params string[] data) => RunUnlearn(CliErrors.BadInput, method, output, data);

    private void RunUnlearn(int expectedExit, string method, string output, string[] data)
    {
        var (exit, printed) = ConsoleCapture.Run(() => TrainerCli.Run(
        [
            "unlearn", "--method", method, "--base", _temp["target"], .. data, "--epochs", "1", "--seed", "3", "-o", output,
            .. method == "uld" ? new[] { "--min-steps", "3", "--rank", "4" } : method.StartsWith("offset-", StringComparison.Ordinal) ? ["--small", Stories260KModels.AssistantDirectory] : [],
        ]));
        Assert.True(exit == expectedExit, $"{method} exited {exit}, expected {expectedExit}:\n{printed}");
    }

    [Fact]
    public async Task Text_qa_and_chat_files_unlearn_with_every_method_and_evaluate_through_the_api()
    {
        var forget = Write("forget.jsonl", Stories[..3].Select(s => new { text = s }));
        var retain = Write("retain.jsonl", Stories[3..6].Select(s => new { text = s }));
        var holdout = Write("holdout.jsonl", Stories[6..].Select(s => new { text = s }));
        Assert.Equal(0, TrainerCli.Run(["train", "--base", Stories260KModels.BaseDirectory, "--forget-file", forget, "--retain-file", retain,
            "--epochs", "2", "--lr", "3e-3", "-o", _temp["target"]]));
        var target = ModelDirectory.Open(_temp["target"]);
        Assert.Equal(("fine-tune", "stories260K"), (target.Manifest.Method, target.Manifest.BaseModel));
        Assert.Equal(["forget.jsonl", "retain.jsonl"], target.Manifest.TrainingData!.Select(d => d.Path));
        Assert.NotNull(target.Manifest.Metrics!["train_verbmem"]);
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run(["train", "--base", _temp["target"], "--role", "retain", "--forget-file", forget, "-o", _temp["retain-model"]]));

        // Raw text: ULD and every baseline but the refusal-based ones, which need a prompt to refuse.
        var text = new[] { "--forget-file", forget, "--retain-file", retain, "--holdout-file", holdout, "--chunk-tokens", "24", "--stride", "16" };
        foreach (var method in (string[])["uld", .. GradientUnlearner.Methods, "offset-npo+kl"])
        {
            var runDir = _temp[$"text/{method}"];
            if (GradientUnlearner.NeedsRefusals(method))
            {
                UnlearnRefused(method, runDir, text);
                Assert.False(Directory.Exists(runDir));
                continue;
            }
            Unlearn(method, runDir, text);
            var manifest = ModelDirectory.Open(method.StartsWith("offset-", StringComparison.Ordinal) ? Path.Combine(runDir, "unlearned") : runDir).Manifest;
            Assert.Equal(("text", "forget", 24), (manifest.Hyperparameters!["forget_kind"]!.GetValue<string>(),
                manifest.Hyperparameters["forget_set"]!.GetValue<string>(), manifest.Hyperparameters["chunk_tokens"]!.GetValue<int>()));
            Assert.Contains(manifest.TrainingData!, d => d.Path == "forget.jsonl" && d.Sha256 == Uld.Evaluation.Data.Corpus.Load(forget).Sha256);
        }
        // ULD on text is calibrated against the holdout.
        var calibration = ModelDirectory.Open(_temp["text/uld"]).Manifest.Metrics!["calibration"]!;
        Assert.Equal("unseen", calibration["reference"]!.GetValue<string>());

        // Question/answer and conversation records, with DPO where there are prompts to refuse.
        var qa = Write("qa.jsonl", new[] { ("Where does Pim live?", "Under the old oak tree."), ("What color is Zara's kite?", "Yellow, with a long tail.") }
            .Select(p => new { question = p.Item1, answer = p.Item2 }));
        var qaRetain = Write("qa-retain.jsonl", new[] { ("What did Mira bake?", "A big sweet cake."), ("Who is Spot?", "Ben's dog.") }
            .Select(p => new { question = p.Item1, answer = p.Item2 }));
        var chat = Write("chat.jsonl", new[] { new { messages = new object[] { new { role = "user", content = "Tell me about Tobble." }, new { role = "assistant", content = "Tobble is a small bear with a blue hat." } } } });
        foreach (var method in new[] { "uld", "npo+gd", "dpo+gd", "idk+gd" })
            Unlearn(method, _temp[$"qa/{method}"], "--forget-file", qa, "--retain-file", qaRetain);
        var qaCalibration = ModelDirectory.Open(_temp["qa/uld"]).Manifest.Metrics!["calibration"]!;
        Assert.Equal("other-answers", qaCalibration["reference"]!.GetValue<string>()); // no holdout: answers of the retain file
        foreach (var method in new[] { "uld", "npo+kl" })
            Unlearn(method, _temp[$"chat/{method}"], "--forget-file", chat, "--retain-file", retain);
        UnlearnRefused("dpo", _temp["chat/dpo"], "--forget-file", chat, "--retain-file", retain);
        // No retain file: the base's own samples stand in, and the manifest says so.
        Unlearn("npo+gd", _temp["noretain"], "--forget-file", forget);
        Assert.Equal("generated-retain", ModelDirectory.Open(_temp["noretain"]).Manifest.Hyperparameters!["retain_set"]!.GetValue<string>());

        // Served and evaluated through the API: the ULD deployments and two baselines beside the target.
        var settings = new Dictionary<string, string?>();
        void Deploy(int i, string name, string kind, params (string Key, string Value)[] more)
        {
            settings[$"LogitServer:Deployments:{i}:Name"] = name;
            settings[$"LogitServer:Deployments:{i}:Kind"] = kind;
            foreach (var (key, value) in more) settings[$"LogitServer:Deployments:{i}:{key}"] = value;
        }
        Deploy(0, "target", "Plain", ("Model", _temp["target"]));
        Deploy(1, "judge", "Plain", ("Model", Stories260KModels.BaseDirectory));
        Deploy(2, "uld", "Uld", ("Base", _temp["target"]), ("Assistant", _temp["text/uld"]), ("Rule", "SuppressOnly"), ("AlphaMin", "0"), ("AlphaMax", "4"));
        Deploy(3, "npo", "Plain", ("Model", _temp["text/npo+gd"]));
        Deploy(4, "offset", "Offset", ("Base", _temp["target"]), ("Reference", Path.Combine(_temp["text/offset-npo+kl"], "reference")),
            ("Unlearned", Path.Combine(_temp["text/offset-npo+kl"], "unlearned")));
        Deploy(5, "uld-qa", "Uld", ("Base", _temp["target"]), ("Assistant", _temp["qa/uld"]), ("Rule", "SuppressOnly"), ("AlphaMin", "0"), ("AlphaMax", "4"));
        await using var server = await LogitServerHost.StartAsync(settings);
        var output = _temp["eval/corpus.json"];
        var (exit, printed) = await ConsoleCapture.RunAsync(() => EvalCli.RunAsync(["corpus", "--url", server.BaseAddress.ToString(),
            "-m", "target", "-m", "uld@2", "-m", "npo", "-m", "offset", "--forget", forget, "--retain", retain, "--holdout", holdout,
            "--judge", "judge", "--prefix-tokens", "8", "--continuation-tokens", "16", "-o", output]));
        Assert.True(exit == 0, printed);
        var results = JsonNode.Parse(File.ReadAllText(output))!["results"]!.AsArray();
        Assert.Equal(["npo", "offset", "target", "uld@2"], results.Select(r => r!["deployment"]!.GetValue<string>()).Order());
        Assert.All(results, r =>
        {
            Assert.Equal(3, r!["forget"]!["passages"]!.GetValue<int>());
            Assert.InRange(r["forget"]!["verbmem"]!.GetValue<double>(), 0, 1);
            Assert.True(r["fluency_ppl"]!.GetValue<double>() > 1);
        });
        var qaOutput = _temp["eval/qa.json"];
        (exit, printed) = await ConsoleCapture.RunAsync(() => EvalCli.RunAsync(["corpus", "--url", server.BaseAddress.ToString(),
            "-m", "target", "-m", "uld-qa@2", "--forget", qa, "--retain", qaRetain, "--prefix-tokens", "2", "--continuation-tokens", "8", "-o", qaOutput]));
        Assert.True(exit == 0, printed);
        Assert.All(JsonNode.Parse(File.ReadAllText(qaOutput))!["results"]!.AsArray(), r => Assert.NotNull(r!["forget"]!["knowmem"]));
    }
}
