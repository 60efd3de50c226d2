using Microsoft.ML.OnnxRuntime;
using Uld.Trainer.Safetensors;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Model;
using Uld.Trainer.Onnx;

namespace Uld.Tests.Trainer.Onnx;

[Collection(TorchSharpCollection.Name)]
public sealed class OnnxFormatTests(Stories260KFixture fixture)
{
    [Fact]
    public void Graph_declares_the_optimum_decoder_with_past_interface_with_dynamic_dims()
    {
        using var session = new InferenceSession(fixture.Model.OnnxPath);
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        string[] expectedInputs = ["input_ids", "attention_mask", "position_ids",
            .. Enumerable.Range(0, 5).SelectMany(i => new[] { $"past_key_values.{i}.key", $"past_key_values.{i}.value" })];
        string[] expectedOutputs = ["logits", .. Enumerable.Range(0, 5).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })];
        Assert.Equal(expectedInputs, inputs.Keys);
        Assert.Equal(expectedOutputs, outputs.Keys);

        Assert.Equal([-1, -1], inputs["input_ids"].Dimensions);
        Assert.Equal(["batch_size", "sequence_length"], inputs["input_ids"].SymbolicDimensions);
        Assert.Equal(["batch_size", "total_sequence_length"], inputs["attention_mask"].SymbolicDimensions);
        Assert.Equal(typeof(long), inputs["position_ids"].ElementType);
        Assert.Equal([-1, 4, -1, 8], inputs["past_key_values.3.value"].Dimensions);
        Assert.Equal("past_sequence_length", inputs["past_key_values.0.key"].SymbolicDimensions[2]);
        Assert.Equal([-1, -1, 512], outputs["logits"].Dimensions);
        Assert.Equal("total_sequence_length", outputs["present.4.key"].SymbolicDimensions[2]);
        // The one extra: an overridable initializer, so Optimum-style callers never see it.
        Assert.Equal([OnnxCausalLm.LogitsLastOnlyInput], session.OverridableInitializerMetadata.Keys);
    }

    [Fact]
    public void Asking_for_the_last_logits_computes_the_head_there_alone_with_the_same_values()
    {
        using var model = new OnnxCausalLm(fixture.Model.OnnxPath);
        // Two rows, the second left-padded by two: the last position of every row is real.
        long[] ids = [1, 37, 205, 9, 411, 0, 0, 1, 88, 7];
        long[] mask = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1];
        long[] positions = [0, 1, 2, 3, 4, 1, 1, 0, 1, 2];
        using var emptyA = model.EmptyCache(2);
        using var emptyB = model.EmptyCache(2);
        var all = model.Run(ids, mask, positions, 2, emptyA, LogitPositions.All);
        var last = model.Run(ids, mask, positions, 2, emptyB, LogitPositions.Last);
        using (all.Present)
        using (last.Present)
        {
            Assert.Equal(2 * 5 * 512, all.Logits.Length);
            Assert.Equal(2 * 512, last.Logits.Length);
            for (var row = 0; row < 2; row++)
            {
                var expected = all.Logits.AsSpan((row * 5 + 4) * 512, 512).ToArray();
                var actual = last.Logits.AsSpan(row * 512, 512).ToArray();
                Assert.InRange(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-5);
            }
            // The cache is the prompt's either way.
            Assert.Equal(all.Present.Length, last.Present.Length);
        }
    }

    [Fact]
    public void Graph_uses_only_standard_onnx_operators_at_opset_17()
    {
        var graph = LlamaOnnxExporter.Build(fixture.Model.Config, SafetensorsFile.Read(fixture.Model.WeightsPath).Tensors);
        string[] standard = ["Add", "And", "Cast", "Concat", "Cos", "Div", "Expand", "Gather", "LessOrEqual", "MatMul", "Mul", "Neg", "Pow", "Range",
            "ReduceMean", "Reshape", "Shape", "Sigmoid", "Sin", "Slice", "Softmax", "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where", "Identity"];
        Assert.Empty(graph.Nodes.Select(n => n.OpType).Distinct().Except(standard));
    }

    [Fact]
    public void Onnx_runtime_fuses_every_rms_norm_into_one_kernel()
    {
        // Fewer operators per decode step is what makes small models fast; the exporter writes RMSNorm in the
        // exact pattern ONNX Runtime's SimplifiedLayerNormFusion recognises, so the optimised graph has none left over.
        using var temp = new TempDirectory();
        var optimized = temp["optimized.onnx"];
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(fixture.Model.OnnxPath, options)) { }
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(optimized));
        var norms = 2 * fixture.Model.Config.NumHiddenLayers + 1;
        // NodeProto.op_type is field 4 (tag byte '"'), then its length: this counts operators, not node names.
        static int OpCount(string graph, string opType) => System.Text.RegularExpressions.Regex.Count(graph, "\"" + (char)opType.Length + opType);
        Assert.Equal(norms, OpCount(text, "SimplifiedLayerNormalization"));
        Assert.Equal(0, OpCount(text, "Sqrt"));
    }

    [Fact]
    public void External_data_export_loads_and_computes_the_same_logits()
    {
        using var temp = new TempDirectory();
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        var weights = SafetensorsFile.Read(fixture.Model.WeightsPath).Tensors;
        var path = temp["onnx/model.onnx"];
        var diff = OnnxExport.ExportAndVerify(model, weights, path, externalDataThreshold: 0, maxDiff: 1e-4);

        Assert.InRange(diff, 0, 1e-4);
        Assert.True(File.Exists(path + "_data"));
        Assert.True(new FileInfo(path).Length < 64 * 1024, "weights should live in the data file, not the graph");
        Assert.True(new FileInfo(path + "_data").Length > 900_000);

        using var external = new OnnxCausalLm(path);
        using var inline = new OnnxCausalLm(fixture.Model.OnnxPath);
        Assert.Equal(GreedyDecoder.Generate(inline, [1], 12), GreedyDecoder.Generate(external, [1], 12));
    }
}
