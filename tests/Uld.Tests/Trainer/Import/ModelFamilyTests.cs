using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Cli;
using Uld.Trainer.Model;

namespace Uld.Tests.Trainer.Import;

/// <summary>
/// Each supported model family, imported from a random-weight Hugging Face checkpoint of its real config shape with
/// layers and widths cut down (and the 512-token stories260K vocabulary): the import's ONNX export must match
/// TorchSharp, and greedy decoding through ONNX Runtime's KV cache must match TorchSharp's.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class ModelFamilyTests(Stories260KFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Families => [.. ModelFamilyConfigs.All.Keys];

    [Theory]
    [MemberData(nameof(Families))]
    public void Family_imports_and_onnx_decodes_like_torchsharp(string family)
    {
        var config = ModelFamilyConfigs.All[family]();
        HfCheckpointWriter.Write(_temp["hf"], config, fixture.Model.Root);

        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", _temp["hf"], "--output", _temp["model"]));
        var directory = ModelDirectory.Open(_temp["model"]);
        Assert.Equal(config["model_type"]!.GetValue<string>(), directory.Config.ModelType);
        var parity = directory.Manifest.Source!["onnx_export"]!["max_abs_diff_vs_torchsharp"]!.GetValue<double>();
        Assert.InRange(parity, 0, 1e-4);

        using var onnx = new OnnxCausalLm(directory.OnnxPath);
        using var torch = LlamaWeights.LoadDirectory(directory);
        int[] prompt = [1, 37, 205, 9, 411];
        Assert.Equal(TorchDecoding.Generate(torch, prompt, 12), GreedyDecoder.Generate(onnx, prompt, 12));
    }

    [Fact]
    public void Rope_scaling_changes_the_model_it_imports()
    {
        var scaled = ModelFamilyConfigs.All["llama3.2"]();
        var plain = ModelFamilyConfigs.All["llama3.2"]();
        plain.Remove("rope_scaling");
        HfCheckpointWriter.Write(_temp["scaled"], scaled, fixture.Model.Root);
        HfCheckpointWriter.Write(_temp["plain"], plain, fixture.Model.Root);
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", _temp["scaled"], "--output", _temp["scaled-model"]));
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", _temp["plain"], "--output", _temp["plain-model"]));

        using var a = new OnnxCausalLm(ModelDirectory.Open(_temp["scaled-model"]).OnnxPath);
        using var b = new OnnxCausalLm(ModelDirectory.Open(_temp["plain-model"]).OnnxPath);
        long[] ids = [1, 37, 205, 9, 411, 17, 3, 88];
        var positions = Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray();
        var mask = ids.Select(_ => 1L).ToArray();
        using var emptyA = a.EmptyCache(1);
        using var emptyB = b.EmptyCache(1);
        var stepA = a.Run(ids, mask, positions, 1, emptyA);
        var stepB = b.Run(ids, mask, positions, 1, emptyB);
        stepA.Present.Dispose();
        stepB.Present.Dispose();
        var vocab = ModelFamilyConfigs.Vocab;
        // Position 0 has no rotation, so the scaling cannot matter there; later positions must differ.
        Assert.Equal(stepA.Logits[..vocab], stepB.Logits[..vocab]);
        Assert.True(stepA.Logits.Zip(stepB.Logits).Skip(vocab).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }
}
