using System.Text;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;
using Uld.Tokenization;
using Uld.Trainer.Cli;

namespace Uld.Tests.LogitServer.Api;

/// <summary>
/// LogitServer serving models imported with a real byte-level tokenizer and its own Jinja chat template (Llama 3,
/// Qwen3): prompts are the ids Hugging Face's apply_chat_template gives, and streamed
/// text never splits a character.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class ChatTemplateServingTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Tokenizers => new() { "llama3", "qwen3" };

    /// <summary>Characters whose UTF-8 bytes the byte-level vocabularies split over several tokens, among whole words.</summary>
    private const string Answer = "Kraków 𠀀 naïve 🦜 ok";

    /// <summary>
    /// A model directory (<c>import hf</c>) with the real tokenizer and chat template whose greedy answer to any chat
    /// prompt ending like <paramref name="promptIds"/> is <see cref="Answer"/>.
    /// </summary>
    private string ImportChainModel(string tokenizer, IReadOnlyList<int> promptIds, out IReadOnlyList<int> answerIds)
    {
        var shared = TokenizerFixtures.TokenizerDirectory(tokenizer);
        var loaded = ModelTokenizer.Load(shared);
        answerIds = loaded.Encode(Answer, addBos: false);
        var source = _temp[$"{tokenizer}-hf"];
        ChainLlama.Write(source, loaded.VocabSize, promptIds[^1], answerIds);
        foreach (var file in new[] { ModelDirectory.TokenizerFile, ModelDirectory.TokenizerConfigFile })
            File.Copy(Path.Combine(shared, file), Path.Combine(source, file));
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", source, "--output", _temp[tokenizer]));
        return _temp[tokenizer];
    }

    private static Dictionary<string, string?> Settings(string model, bool skipHashCheck = false) => new()
    {
        ["LogitServer:SkipHashCheck"] = skipHashCheck ? "true" : "false",
        ["LogitServer:Deployments:0:Name"] = "m",
        ["LogitServer:Deployments:0:Kind"] = "Plain",
        ["LogitServer:Deployments:0:Model"] = model,
    };

    private static JsonArray Messages(JsonNode? c) => c!["messages"]!.DeepClone().AsArray();

    private static List<JsonNode?> GenerationPromptCases(string tokenizer) => TokenizerFixtures.Cases($"{tokenizer}.chat.json")
        .Where(c => c!["add_generation_prompt"]!.GetValue<bool>() && c["variables"] is null).ToList();

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public async Task Chat_prompts_are_the_model_templates_ids_and_streamed_characters_come_out_whole(string tokenizer)
    {
        var cases = GenerationPromptCases(tokenizer);
        Assert.True(cases.Count >= 8);
        var promptIds = TokenizerFixtures.Ints(cases[0]!["prompt_ids"]);
        var model = ImportChainModel(tokenizer, promptIds, out var answerIds);
        await using var server = await LogitServerHost.StartAsync(Settings(model));
        foreach (var c in cases)
        {
            var (status, body, _) = await HttpApi.PostAsync(server.Http, "/tokenize", new JsonObject { ["model"] = "m", ["messages"] = Messages(c) });
            Assert.Equal(200, status);
            Assert.Equal(TokenizerFixtures.Ints(c!["prompt_ids"]), TokenizerFixtures.Ints(body!["tokens"]));
        }

        var request = new JsonObject { ["model"] = "m", ["messages"] = Messages(cases[0]), ["max_tokens"] = answerIds.Count, ["temperature"] = 0, ["logprobs"] = true };
        var (chatStatus, whole, _) = await HttpApi.PostAsync(server.Http, "/v1/chat/completions", request);
        Assert.Equal(200, chatStatus);
        Assert.Equal(promptIds.Length, whole!["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(Answer, HttpApi.ContentOf(whole));
        // The premise: several generated tokens are only parts of a character.
        var tokens = whole["choices"]![0]!["logprobs"]!["content"]!.AsArray().Select(t => t!["token"]!.GetValue<string>()).ToList();
        Assert.True(tokens.Count(t => t.Contains('\uFFFD')) >= 2, string.Join(" | ", tokens));

        request["stream"] = true;
        request.Remove("logprobs");
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        var deltas = new List<string>();
        await foreach (var (_, data) in HttpApi.ReadEventsAsync(response))
        {
            if (data == "[DONE]") break;
            if (JsonNode.Parse(data)!["choices"]!.AsArray() is [{ } choice, ..] && choice["delta"]?["content"] is { } content)
                deltas.Add(content.GetValue<string>());
        }
        Assert.DoesNotContain(deltas, d => d.Contains('\uFFFD') || (d.Length > 0 && (char.IsHighSurrogate(d[^1]) || char.IsLowSurrogate(d[0]))));
        Assert.Equal(Answer, string.Concat(deltas));
    }

    public static TheoryData<string, string> BadTemplates => new()
    {
        { "{% for m in messages %}{{ m.content }}{% endfor %}{% include 'footer.jinja' %}", "include" },
        { "{% for m in messages %}{{ raise_exception('only tool messages are supported') }}{% endfor %}", "only tool messages are supported" },
    };

    [Theory]
    [MemberData(nameof(BadTemplates))]
    public async Task A_chat_template_that_cannot_be_rendered_stops_start_up_with_one_line(string chatTemplate, string expected)
    {
        var model = ImportChainModel("llama3", TokenizerFixtures.Ints(GenerationPromptCases("llama3")[0]!["prompt_ids"]), out _);
        var configPath = Path.Combine(model, ModelDirectory.TokenizerConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["chat_template"] = chatTemplate;
        File.WriteAllText(configPath, config.ToJsonString());

        var error = await Assert.ThrowsAsync<DeploymentConfigurationException>(() => LogitServerHost.StartAsync(Settings(model, skipHashCheck: true)));
        Assert.Contains("deployment 'm'", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
