using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Tests.Support;
using Uld.Trainer.Model;

namespace Uld.Tests.Trainer.Safetensors;

[Collection(TorchSharpCollection.Name)]
public sealed class SafetensorsTests(Stories260KFixture fixture)
{
    [Fact]
    public void Load_into_the_model_and_save_reproduces_the_file_bit_for_bit()
    {
        using var temp = new TempDirectory();
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        var copy = temp["model.safetensors"];
        SafetensorsFile.Write(copy, LlamaWeights.Export(model), new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(File.ReadAllBytes(fixture.Model.WeightsPath), File.ReadAllBytes(copy));

        var names = SafetensorsFile.Read(copy).Tensors.Keys.ToHashSet();
        Assert.Contains("model.layers.4.self_attn.k_proj.weight", names);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", names);
        Assert.DoesNotContain("lm_head.weight", names); // tied to the embedding
        Assert.Equal(2 + 5 * 9, names.Count);
    }

    [Fact]
    public void Streaming_from_the_model_writes_the_same_file_without_copying_tensors_out()
    {
        // Loading reads each F32 tensor into the parameter's storage (ITensorReader); writing streams it back out
        // from native memory (ITensorWriter): together they must be the identity on the file.
        using var temp = new TempDirectory();
        using var model = LlamaWeights.LoadDirectory(fixture.Model);
        var tensors = new ModelTensors(model);
        var copy = temp["model.safetensors"];
        SafetensorsFile.Write(copy, tensors.Layout, tensors.WriteFloat32, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(File.ReadAllBytes(fixture.Model.WeightsPath), File.ReadAllBytes(copy));
    }

    [Theory]
    [InlineData(12, 4)]   // 12 floats = 3 rows per block: blocks of 3, 3, 3, 1 rows
    [InlineData(1, 10)]   // a row larger than the block: one row per block
    [InlineData(1000, 1)] // the whole tensor in one block
    public void Row_blocks_cover_a_tensor_exactly_once_in_order(long maxBytes, int expectedBlocks)
    {
        using var tensor = TorchSharp.torch.arange(40, dtype: TorchSharp.torch.ScalarType.Float32).reshape(10, 4);
        var written = new MemoryStream();
        var offsets = new List<long>();
        foreach (var (rows, offset) in TensorRowBlocks.Of(tensor, maxBytes * sizeof(float)))
        {
            using (rows)
            {
                Assert.Equal(written.Length, offset);
                offsets.Add(offset);
                written.Write(rows.bytes);
            }
        }
        Assert.Equal(tensor.bytes.ToArray(), written.ToArray());
        Assert.Equal(expectedBlocks, offsets.Count);

        // Reading back into a zeroed tensor through the same blocks restores it.
        using var restored = TorchSharp.torch.zeros(10, 4);
        foreach (var (rows, offset) in TensorRowBlocks.Of(restored, maxBytes * sizeof(float)))
        {
            using (rows) written.ToArray().AsSpan((int)offset, rows.bytes.Length).CopyTo(rows.bytes);
        }
        Assert.Equal(tensor.data<float>().ToArray(), restored.data<float>().ToArray());
    }

    [Fact]
    public void Half_precision_tensors_widen_exactly()
    {
        Half[] halves = [(Half)1.5f, (Half)(-0.000123f), Half.MaxValue];
        var f16 = new SafeTensor("h", "F16", [3], halves.SelectMany(h => BitConverter.GetBytes(h)).ToArray());
        Assert.Equal(halves.Select(h => (float)h), f16.ToFloats());

        float[] values = [3.140625f, -2.5f, 65536f]; // exactly representable in bfloat16
        var bf16 = new SafeTensor("b", "BF16", [3], values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(v) >> 16))).ToArray());
        Assert.Equal(values, bf16.ToFloats());
    }

    [Fact]
    public void A_truncated_file_is_reported_as_truncated()
    {
        using var temp = new TempDirectory();
        var bytes = File.ReadAllBytes(fixture.Model.WeightsPath);
        File.WriteAllBytes(temp["cut.safetensors"], bytes[..(bytes.Length - 100)]);
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Read(temp["cut.safetensors"]));
        Assert.Contains("truncated", error.Message);

        File.WriteAllBytes(temp["tiny.safetensors"], [1, 2, 3]);
        Assert.Contains("truncated", Assert.Throws<ModelFormatException>(() => SafetensorsFile.Read(temp["tiny.safetensors"])).Message);
    }
}
