using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Tests.Tokenization;
using Uld.Trainer.Cli;

namespace Uld.Tests.Support;

/// <summary>
/// Random-weight chat models with real vocabularies, built once per test run with <c>uld-trainer init</c> (so only
/// from tests of <see cref="TorchSharpCollection"/>): "llama3" — Llama-3.2's config cut down, the 128,256-token Llama-3
/// tokenizer and a Llama 3.1-style JSON tool-calling template, EOS &lt;|eot_id|&gt; — and "qwen3" — Qwen3's config cut
/// down, its 151,669-token tokenizer and its own chat template. Their answers are noise, but under a grammar noise
/// in the right shape: what structured output and tool calls are tested with.
/// </summary>
public static class RandomChatModels
{
    private static readonly Lazy<TempDirectory> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Llama3 => Built.Value["llama3"];
    public static string Qwen3 => Built.Value["qwen3"];

    private static TempDirectory Build()
    {
        var temp = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => temp.Dispose();

        var llamaTokenizer = temp["llama3-tokenizer"];
        Directory.CreateDirectory(llamaTokenizer);
        var shared = TokenizerFixtures.TokenizerDirectory("llama3");
        File.Copy(Path.Combine(shared, ModelDirectory.TokenizerFile), Path.Combine(llamaTokenizer, ModelDirectory.TokenizerFile));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(shared, ModelDirectory.TokenizerConfigFile)))!.AsObject();
        (config["chat_template"], config["eos_token"]) = (ToolTemplateTests.LlamaToolsTemplate, "<|eot_id|>");
        File.WriteAllText(Path.Combine(llamaTokenizer, ModelDirectory.TokenizerConfigFile), config.ToJsonString());
        var llama = ModelFamilyConfigs.All["llama3.2"]();
        (llama["vocab_size"], llama["hidden_size"], llama["intermediate_size"], llama["num_attention_heads"], llama["num_key_value_heads"], llama["head_dim"]) =
            (128256, 64, 128, 4, 1, 16);
        (llama["bos_token_id"], llama["eos_token_id"]) = (128000, 128009);
        Init(temp, llama, llamaTokenizer, "llama3");

        var qwen = ModelFamilyConfigs.All["qwen3"]();
        (qwen["vocab_size"], qwen["bos_token_id"], qwen["eos_token_id"]) = (151936, 151643, 151645);
        Init(temp, qwen, TokenizerFixtures.TokenizerDirectory("qwen3"), "qwen3");
        return temp;
    }

    private static void Init(TempDirectory temp, JsonObject config, string tokenizer, string name)
    {
        File.WriteAllText(temp[name + ".json"], config.ToJsonString());
        var exit = TrainerCli.Run("init", "--config", temp[name + ".json"], "--tokenizer", tokenizer, "--seed", "26", "-o", temp[name]);
        if (exit != 0) throw new InvalidOperationException($"uld-trainer init of the random {name} model exited with {exit}.");
    }
}
