using System.Text;
using Uld.Contracts.Models;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Trainer.Onnx;

/// <summary>
/// onnx/serving.onnx (docs/DESIGN.md, *The serving graph and its slot cache*) as every import writes it: on random
/// models of the GQA families the same logits as onnx/model.onnx, prefilled at several lengths and then decoded in one
/// batch; above the data threshold it reads model.onnx_data instead of a copy; quantized packages get a quantized one.
/// </summary>
[Collection(TorchSharpCollection.Name)]
[Trait(Category.Name, Category.Slow)]
public sealed class ServingGraphTests(Stories260KFixture fixture) : IDisposable
{
    private const double Bound = 1e-4;
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ModelDirectory Import(string family, params string[] options)
    {
        HfCheckpointWriter.Write(_temp[$"{family}-hf"], ModelFamilyConfigs.All[family](), fixture.Model.Root);
        Assert.Equal(0, TrainerCli.Run(["import", "hf", "--input", _temp[$"{family}-hf"], "--output", _temp[family], .. options]));
        return ModelDirectory.Open(_temp[family]);
    }

    [Theory]
    [InlineData("llama3.2")] // GQA 4:1, head size 16, llama3 rope scaling
    [InlineData("qwen2.5")] // q/k/v biases, GQA 7:1
    [InlineData("qwen3")] // q/k RMS norms, head size 32
    public void A_random_GQA_model_serves_the_logits_of_model_onnx(string family)
    {
        var model = Import(family);
        Assert.True(model.Config.KeyValueHeads < model.Config.NumAttentionHeads);
        Assert.True(model.Manifest.Files.ContainsKey(ModelDirectory.ServingOnnxFile));
        var recorded = model.Manifest.Source!["onnx_export"]!["serving_max_abs_diff_vs_model_onnx"]!.GetValue<double>();
        Assert.InRange(recorded, 0, Bound);

        var (maxDiff, compared) = ServingParity.Measure(model, [9, 4, 15], decodeSteps: 5, seed: 11);
        Assert.Equal((9 + 4 + 15 + 3 * 5) * (long)ModelFamilyConfigs.Vocab, compared);
        Assert.InRange(maxDiff, 0, Bound);
    }

    [Fact]
    public void Above_the_data_threshold_the_serving_graph_reads_model_onnx_data()
    {
        var model = Import("qwen3", "--external-data-threshold", "0");
        var data = new FileInfo(model.PathOf(ModelDirectory.OnnxDataFile));
        Assert.True(data.Exists);
        Assert.False(File.Exists(model.ServingOnnxPath + "_data"));
        // The graph file holds names, shapes and small constants only: far less than the weights it points at.
        Assert.InRange(new FileInfo(model.ServingOnnxPath).Length, 1, data.Length / 10);
        Assert.Contains("model.onnx_data", Encoding.ASCII.GetString(File.ReadAllBytes(model.ServingOnnxPath)));

        var (maxDiff, _) = ServingParity.Measure(model, [6, 11], decodeSteps: 4, seed: 3);
        Assert.InRange(maxDiff, 0, Bound);
    }

    [Fact]
    public void A_package_with_int8_weights_has_an_int8_serving_graph()
    {
        var output = _temp["stories260K-int8"];
        Assert.Equal(0, TrainerCli.Run("package", "-m", fixture.Model.Root, "-o", output, "--weights", "int8"));
        var model = ModelDirectory.Open(output);
        var graph = Encoding.ASCII.GetString(File.ReadAllBytes(model.ServingOnnxPath));
        Assert.Contains("MatMulNBits", graph);
        Assert.Contains("GroupQueryAttention", graph);

        var (maxDiff, _) = ServingParity.Measure(model, [5, 12], decodeSteps: 4, seed: 8);
        Assert.InRange(maxDiff, 0, Bound);
    }
}
