using System.Text.Json.Nodes;
using Uld.Cli;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Tokenization;
using Uld.Trainer.Cli;

namespace Uld.Tests.Trainer.Import;

/// <summary><c>uld-trainer init</c>: random-weight model directories of a given config and tokenizer.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class InitCliTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Llama2Tokenizer => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "tokenizers", "llama2"));

    /// <summary>
    /// Llama-3.2-1B's config.json with 2 layers and narrow widths and its real 128,256-row embedding, read by the
    /// 32,000-token Llama-2 tokenizer (an embedding may be larger than its tokenizer, as Qwen's are).
    /// </summary>
    private string Llama32Config()
    {
        var config = ModelFamilyConfigs.All["llama3.2"]();
        (config["vocab_size"], config["hidden_size"], config["intermediate_size"], config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]) =
            (128256, 64, 128, 4, 1, 16);
        (config["bos_token_id"], config["eos_token_id"]) = (1, 2);
        var path = _temp["config.json"];
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Fact]
    public void Init_writes_a_servable_random_model_reproducible_by_seed()
    {
        var config = Llama32Config();
        Assert.Equal(0, TrainerCli.Run("init", "--config", config, "--tokenizer", Llama2Tokenizer, "--seed", "7", "-o", _temp["a"]));
        Assert.Equal(0, TrainerCli.Run("init", "--config", config, "--tokenizer", Llama2Tokenizer, "--seed", "7", "-o", _temp["b"]));
        Assert.Equal(0, TrainerCli.Run("init", "--config", config, "--tokenizer", Llama2Tokenizer, "--seed", "8", "-o", _temp["c"]));

        var a = ModelDirectory.Open(_temp["a"]);
        Assert.Equal("random-init", a.Manifest.Method);
        Assert.Equal(128256, a.Config.VocabSize);
        Assert.True(a.Config.TieWordEmbeddings);
        Assert.Equal("llama3", a.Config.ParsedRopeScaling()?.Type);
        Assert.Equal(2, a.Generation.EosTokenId);
        Assert.Equal(a.Manifest.Files["model.safetensors"], ModelDirectory.Open(_temp["b"]).Manifest.Files["model.safetensors"]);
        Assert.NotEqual(a.Manifest.Files["model.safetensors"], ModelDirectory.Open(_temp["c"]).Manifest.Files["model.safetensors"]);

        var tokenizer = ModelTokenizer.Load(a.Root);
        Assert.Equal(32000, tokenizer.VocabSize);
        using var session = new OnnxCausalLm(a.OnnxPath);
        Assert.Equal(128256, session.Vocab);
        Assert.Equal(4, GreedyDecoder.Generate(session, [1, 15043], 4).Count);
    }

    [Fact]
    public void Init_refuses_a_tokenizer_larger_than_the_vocabulary()
    {
        var config = JsonNode.Parse(File.ReadAllText(Llama32Config()))!.AsObject();
        config["vocab_size"] = 1000;
        File.WriteAllText(_temp["small.json"], config.ToJsonString());
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run("init", "--config", _temp["small.json"], "--tokenizer", Llama2Tokenizer, "-o", _temp["out"]));
        Assert.False(Directory.Exists(_temp["out"]));
    }

    [Fact]
    public void Init_refuses_an_unsupported_config()
    {
        File.WriteAllText(_temp["gpt2.json"], """{"model_type":"gpt2","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2}""");
        Assert.Equal(CliErrors.BadInput, TrainerCli.Run("init", "--config", _temp["gpt2.json"], "--tokenizer", Llama2Tokenizer, "-o", _temp["out"]));
        Assert.False(Directory.Exists(_temp["out"]));
    }
}
