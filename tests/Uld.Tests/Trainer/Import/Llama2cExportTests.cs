using Uld.Contracts.Models;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Cli;
using Uld.Trainer.Import;

namespace Uld.Tests.Trainer.Import;

/// <summary>
/// export-llama2c writes what llama2.c's run.c reads: stories260K round-trips to its original checkpoint, and a
/// Hugging Face Llama-2-shaped model comes back through import llama2c with the same logits.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed class Llama2cExportTests(Stories260KFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Stories260K_exports_back_to_its_original_checkpoint_and_vocabulary()
    {
        var folder = Directory.CreateDirectory(_temp["out"]).FullName;
        var (checkpoint, tokenizer) = (Path.Combine(folder, "model.bin"), Path.Combine(folder, "tok.bin"));
        Assert.Equal(0, TrainerCli.Run("export-llama2c", "-m", fixture.Model.Root, "-o", checkpoint, "--tokenizer-output", tokenizer));

        var (original, exported) = (File.ReadAllBytes(SharedPaths.Stories260KCheckpoint), File.ReadAllBytes(checkpoint));
        Assert.Equal(original.Length, exported.Length);
        // Header and weights byte for byte; the RoPE tables run.c skips (after the final norm) only to float precision.
        var c = fixture.Model.Config;
        var freqStart = exported.Length - c.MaxPositionEmbeddings * c.HeadDim * sizeof(float);
        Assert.True(original.AsSpan(0, freqStart).SequenceEqual(exported.AsSpan(0, freqStart)), "header or weights differ");
        var (a, b) = (Floats(original, freqStart), Floats(exported, freqStart));
        Assert.InRange(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-5);

        var vocab = c.VocabSize;
        Assert.Equal(Llama2cTokenizer.Read(SharedPaths.Stories260KTokenizer, vocab).Select(p => (p.Piece, p.Type)),
            Llama2cTokenizer.Read(tokenizer, vocab).Select(p => (p.Piece, p.Type)));
    }

    [Fact]
    public void A_hugging_face_llama2_model_survives_the_round_trip_through_llama2c()
    {
        HfCheckpointWriter.Write(_temp["hf"], ModelFamilyConfigs.All["llama2"](), fixture.Model.Root);
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", _temp["hf"], "--output", _temp["model"]));
        var folder = Directory.CreateDirectory(_temp["c"]).FullName;
        var (checkpoint, tokenizer) = (Path.Combine(folder, "model.bin"), Path.Combine(folder, "tok.bin"));
        Assert.Equal(0, TrainerCli.Run("export-llama2c", "-m", _temp["model"], "-o", checkpoint, "--tokenizer-output", tokenizer));
        Assert.Equal(0, TrainerCli.Run("import", "llama2c", "--checkpoint", checkpoint, "--tokenizer", tokenizer, "-o", _temp["back"]));

        using var before = new OnnxCausalLm(ModelDirectory.Open(_temp["model"]).OnnxPath);
        using var after = new OnnxCausalLm(ModelDirectory.Open(_temp["back"]).OnnxPath);
        int[] prompt = [1, 37, 205, 9, 411, 17];
        Assert.Equal(GreedyDecoder.Generate(before, prompt, 16), GreedyDecoder.Generate(after, prompt, 16));
        long[] ids = [.. prompt.Select(i => (long)i)];
        long[] positions = [.. Enumerable.Range(0, ids.Length).Select(i => (long)i)];
        long[] mask = [.. ids.Select(_ => 1L)];
        using var emptyBefore = before.EmptyCache(1);
        using var emptyAfter = after.EmptyCache(1);
        var (x, y) = (before.Run(ids, mask, positions, 1, emptyBefore), after.Run(ids, mask, positions, 1, emptyAfter));
        x.Present.Dispose();
        y.Present.Dispose();
        Assert.InRange(x.Logits.Zip(y.Logits).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-4);
    }

    [Fact]
    public void A_model_run_c_cannot_compute_is_refused_with_the_reason()
    {
        HfCheckpointWriter.Write(_temp["hf"], ModelFamilyConfigs.All["qwen2.5"](), fixture.Model.Root);
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", _temp["hf"], "--output", _temp["model"]));
        var output = Path.Combine(_temp.Path, "x.bin");
        Assert.Equal(2, TrainerCli.Run("export-llama2c", "-m", _temp["model"], "-o", output));
        var model = ModelDirectory.Open(_temp["model"]);
        var error = Assert.Throws<ModelFormatException>(() =>
            Llama2cCheckpoint.Write(output, model.Config, Uld.Trainer.Safetensors.SafetensorsFile.Open(model.WeightsPath)));
        Assert.Contains("attention biases", error.Message);
        Assert.False(File.Exists(output));
    }

    private static float[] Floats(byte[] bytes, int start)
    {
        var values = new float[(bytes.Length - start) / sizeof(float)];
        Buffer.BlockCopy(bytes, start, values, 0, values.Length * sizeof(float));
        return values;
    }
}
