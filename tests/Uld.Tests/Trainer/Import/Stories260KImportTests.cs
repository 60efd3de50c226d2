using Uld.Contracts.Models;
using Uld.Tokenization;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Model;

namespace Uld.Tests.Trainer.Import;

[Collection(TorchSharpCollection.Name)]
public sealed class Stories260KImportTests(Stories260KFixture fixture)
{
    [Fact]
    public void Directory_follows_contract_1_with_hashes_and_measured_export_parity()
    {
        var model = fixture.Model;
        foreach (var file in new[] { "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
        {
            Assert.True(File.Exists(model.PathOf(file)), $"{file} missing");
            Assert.Equal(FileHash.Sha256(model.PathOf(file)), model.Manifest.Files[file]);
        }
        Assert.Equal(ModelRoles.Imported, model.Manifest.Role);
        Assert.Equal((5, 64, 8, 4, 512), (model.Config.NumHiddenLayers, model.Config.HiddenSize, model.Config.NumAttentionHeads,
            model.Config.KeyValueHeads, model.Config.VocabSize));
        Assert.True(model.Config.TieWordEmbeddings);
        var diff = model.Manifest.Source!["onnx_export"]!["max_abs_diff_vs_torchsharp"]!.GetValue<double>();
        Assert.InRange(diff, 0, 1e-4);
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
            model.Manifest.Source["files"]![0]!["sha256"]!.GetValue<string>());
    }

    [Fact]
    public void Onnx_runtime_greedy_from_bos_reproduces_llama2c_text()
    {
        using var session = new OnnxCausalLm(fixture.Model.OnnxPath);
        var tokenizer = ModelTokenizer.Load(fixture.Model.Root);
        var tokens = GreedyDecoder.Generate(session, [tokenizer.Ids.Bos], 40);
        Assert.StartsWith(Stories260KFixture.ExpectedGreedyText, tokenizer.Decode(tokens));
    }

    [Fact]
    public void TorchSharp_greedy_from_bos_reproduces_llama2c_text()
    {
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        var tokenizer = ModelTokenizer.Load(fixture.Model.Root);
        var tokens = TorchDecoding.Generate(model, [tokenizer.Ids.Bos], 40);
        Assert.StartsWith(Stories260KFixture.ExpectedGreedyText, tokenizer.Decode(tokens));
    }

    [Fact]
    public void Tokenizer_encodes_the_story_as_the_model_generates_it()
    {
        var tokenizer = ModelTokenizer.Load(fixture.Model.Root);
        using var session = new OnnxCausalLm(fixture.Model.OnnxPath);
        var generated = GreedyDecoder.Generate(session, [tokenizer.Ids.Bos], 40);
        var encoded = tokenizer.Encode(Stories260KFixture.ExpectedGreedyText, addBos: false);
        Assert.Equal(encoded, generated.Take(encoded.Count));
        Assert.Equal(Stories260KFixture.ExpectedGreedyText, tokenizer.Decode(encoded));
        Assert.Equal(512, tokenizer.VocabSize);
    }

    [Fact]
    public void Tokenizer_falls_back_to_bytes_for_characters_outside_the_vocabulary()
    {
        var tokenizer = ModelTokenizer.Load(fixture.Model.Root);
        const string text = "Lily saw a 🐱 and said ñ!";
        var ids = tokenizer.Encode(text, addBos: false);
        Assert.Contains(ids, id => id is >= 3 and <= 258); // byte pieces <0x..>
        Assert.DoesNotContain(0, ids); // never <unk>
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void A_modified_file_is_refused_with_the_file_named()
    {
        using var temp = new TempDirectory();
        var copy = temp["copy"];
        DirectoryCopy.Copy(fixture.Model.Root, copy);
        File.AppendAllText(Path.Combine(copy, "config.json"), " ");
        var error = Assert.Throws<ModelFormatException>(() => ModelDirectory.Open(copy));
        Assert.Contains("config.json", error.Message);
    }
}
