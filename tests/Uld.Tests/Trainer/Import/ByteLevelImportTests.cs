using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Tokenization;
using Uld.Trainer.Cli;
using Uld.Trainer.Model;
using Uld.Trainer.Safetensors;

namespace Uld.Tests.Trainer.Import;

/// <summary>`import hf` of a Llama with a real byte-level tokenizer (Llama 3, Qwen3) and small random weights.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class ByteLevelImportTests
{
    public static TheoryData<string> Tokenizers => new() { "llama3", "qwen3" };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Imported_directory_keeps_the_tokenizer_and_chat_template(string name)
    {
        var shared = TokenizerFixtures.TokenizerDirectory(name);
        var original = ModelTokenizer.Load(shared);
        using var temp = new TempDirectory();
        var source = temp["hf"];
        Directory.CreateDirectory(source);
        WriteRandomLlama(source, original.VocabSize);
        foreach (var file in new[] { ModelDirectory.TokenizerFile, ModelDirectory.TokenizerConfigFile })
            File.Copy(Path.Combine(shared, file), Path.Combine(source, file));

        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", source, "--output", temp["out"]));

        var imported = ModelTokenizer.Load(temp["out"]);
        Assert.Equal((original.VocabSize, original.Ids), (imported.VocabSize, imported.Ids));
        foreach (var c in TokenizerFixtures.Cases($"{name}.tokenize.json").Where((_, i) => i % 5 == 0))
        {
            var text = c!["text"]!.GetValue<string>();
            var ids = imported.Encode(text, addBos: false);
            Assert.Equal(TokenizerFixtures.Ints(c["ids"]), ids);
            Assert.Equal(c["decoded"]!.GetValue<string>(), imported.Decode(ids));
        }
        (string, string)[] chat = [("system", "Be brief."), ("user", "Who wrote \"The Silent Echo\"? 你好")];
        Assert.Equal(ChatTemplate.Load(shared).Render(chat), ChatTemplate.Load(temp["out"]).Render(chat));
        Assert.Equal(original.Ids.Eos, ModelDirectory.Open(temp["out"]).Generation.EosTokenId);
    }

    /// <summary>A one-layer Llama over the tokenizer's whole vocabulary, written as a Hugging Face directory.</summary>
    private static void WriteRandomLlama(string directory, int vocabSize)
    {
        var config = new LlamaConfig
        {
            VocabSize = vocabSize, HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1,
            MaxPositionEmbeddings = 64,
        };
        config.Save(Path.Combine(directory, ModelDirectory.ConfigFile));
        TorchSharp.torch.manual_seed(7);
        using var model = new LlamaForCausalLM(config);
        SafetensorsFile.Write(Path.Combine(directory, ModelDirectory.WeightsFile), LlamaWeights.Export(model).ToList());
    }
}
