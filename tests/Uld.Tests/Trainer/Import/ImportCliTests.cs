using Uld.Cli;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Inference;
using Uld.Tests.Support;
using Uld.Trainer.Cli;

namespace Uld.Tests.Trainer.Import;

/// <summary>The import and export commands end to end: good input gives a directory, bad input a message, exit 2 and nothing on disk.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class ImportCliTests(Stories260KFixture fixture) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Hugging_face_import_of_a_model_directory_reproduces_its_weights()
    {
        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", fixture.Model.Root, "--output", _temp["hf"]));
        var imported = ModelDirectory.Open(_temp["hf"]);
        Assert.Equal(fixture.Model.Manifest.Files["model.safetensors"], imported.Manifest.Files["model.safetensors"]);
        Assert.Equal("import-huggingface", imported.Manifest.Method);
    }

    [Fact]
    public void Sharded_hugging_face_checkpoints_import()
    {
        var source = _temp["sharded"];
        Directory.CreateDirectory(source);
        foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            File.Copy(fixture.Model.PathOf(file), Path.Combine(source, file));
        var tensors = SafetensorsFile.Read(fixture.Model.WeightsPath).Tensors.Values.OrderBy(t => t.Name).ToList();
        var half = tensors.Count / 2;
        SafetensorsFile.Write(Path.Combine(source, "model-00001-of-00002.safetensors"), tensors.Take(half));
        SafetensorsFile.Write(Path.Combine(source, "model-00002-of-00002.safetensors"), tensors.Skip(half));
        var map = new JsonObject();
        for (var i = 0; i < tensors.Count; i++) map[tensors[i].Name] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        File.WriteAllText(Path.Combine(source, "model.safetensors.index.json"), new JsonObject { ["weight_map"] = map }.ToJsonString());

        Assert.Equal(0, TrainerCli.Run("import", "hf", "--input", source, "--output", _temp["out"]));
        using var session = new OnnxCausalLm(ModelDirectory.Open(_temp["out"]).OnnxPath);
        using var reference = new OnnxCausalLm(fixture.Model.OnnxPath);
        Assert.Equal(GreedyDecoder.Generate(reference, [1], 10), GreedyDecoder.Generate(session, [1], 10));
    }

    [Fact]
    public void Export_onnx_rewrites_the_graph_and_keeps_hashes_valid()
    {
        var copy = _temp["model"];
        DirectoryCopy.Copy(fixture.Model.Root, copy);
        File.Delete(Path.Combine(copy, "onnx", "model.onnx")); // a stale or missing export is what export-onnx repairs
        var manifest = ModelManifest.Load(Path.Combine(copy, ModelManifest.FileName));
        (manifest with { Files = manifest.Files.Where(f => f.Key != "onnx/model.onnx").ToDictionary() }).Save(Path.Combine(copy, ModelManifest.FileName));

        Assert.Equal(0, TrainerCli.Run("export-onnx", "--model-dir", copy));
        var reopened = ModelDirectory.Open(copy);
        Assert.Equal(fixture.Model.Manifest.Files["onnx/model.onnx"], reopened.Manifest.Files["onnx/model.onnx"]);
    }

    [Fact]
    public void Output_that_exists_is_not_replaced_without_force()
    {
        Directory.CreateDirectory(_temp["taken"]);
        File.WriteAllText(_temp["taken/keep.txt"], "mine");
        Assert.Equal(CliErrors.BadInput, ImportStories(_temp["taken"]));
        Assert.Equal("mine", File.ReadAllText(_temp["taken/keep.txt"]));
    }

    [Fact]
    public void Missing_checkpoint_fails_cleanly() =>
        AssertFailsWithoutOutput(["import", "llama2c", "--checkpoint", _temp["nope.bin"], "--tokenizer", SharedPaths.Stories260KTokenizer]);

    [Fact]
    public void Truncated_checkpoint_fails_cleanly()
    {
        var bytes = File.ReadAllBytes(SharedPaths.Stories260KCheckpoint);
        File.WriteAllBytes(_temp["cut.bin"], bytes[..(bytes.Length / 2)]);
        AssertFailsWithoutOutput(["import", "llama2c", "--checkpoint", _temp["cut.bin"], "--tokenizer", SharedPaths.Stories260KTokenizer]);
    }

    [Fact]
    public void Truncated_tokenizer_fails_cleanly()
    {
        var bytes = File.ReadAllBytes(SharedPaths.Stories260KTokenizer);
        File.WriteAllBytes(_temp["tok.bin"], bytes[..3000]);
        AssertFailsWithoutOutput(["import", "llama2c", "--checkpoint", SharedPaths.Stories260KCheckpoint, "--tokenizer", _temp["tok.bin"]]);
    }

    [Fact]
    public void Shape_mismatch_between_config_and_weights_fails_cleanly()
    {
        var source = HfCopy(config => config["intermediate_size"] = 160);
        AssertFailsWithoutOutput(["import", "hf", "--input", source], "gate_proj", "shape");
    }

    [Fact]
    public void Unsupported_architecture_fails_cleanly()
    {
        var source = HfCopy(config => config["model_type"] = "gpt2");
        AssertFailsWithoutOutput(["import", "hf", "--input", source], "gpt2");
    }

    [Theory]
    [InlineData("mistral-sliding-window", "sliding_window")]
    [InlineData("qwen2-sliding-window", "sliding_window")]
    [InlineData("yarn", "rope_scaling.rope_type")]
    [InlineData("llama3-incomplete", "rope_scaling.low_freq_factor")]
    [InlineData("mlp-bias", "mlp_bias")]
    [InlineData("gelu", "hidden_act")]
    public void Unsupported_config_fields_fail_naming_the_field(string variant, string field)
    {
        var source = HfCopy(config =>
        {
            switch (variant)
            {
                case "mistral-sliding-window": // Mistral-7B-v0.1: a 4096-token window over a 32k context
                    (config["model_type"], config["sliding_window"], config["max_position_embeddings"]) = ("mistral", 4096, 32768);
                    break;
                case "qwen2-sliding-window":
                    (config["model_type"], config["use_sliding_window"], config["sliding_window"]) = ("qwen2", true, 64);
                    break;
                case "yarn":
                    config["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 };
                    break;
                case "llama3-incomplete":
                    config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0 };
                    break;
                case "mlp-bias":
                    config["mlp_bias"] = true;
                    break;
                case "gelu":
                    config["hidden_act"] = "gelu";
                    break;
            }
        });
        AssertFailsWithoutOutput(["import", "hf", "--input", source], field);
    }

    [Fact]
    public void Unknown_tokenizer_format_fails_cleanly()
    {
        var source = HfCopy(_ => { });
        File.WriteAllText(Path.Combine(source, "tokenizer.json"), """{"model":{"type":"WordPiece","vocab":{}}}""");
        AssertFailsWithoutOutput(["import", "hf", "--input", source], "WordPiece");
    }

    [Fact]
    public void Truncated_safetensors_fails_cleanly()
    {
        var source = HfCopy(_ => { });
        var weights = Path.Combine(source, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length - 4096)]);
        AssertFailsWithoutOutput(["import", "hf", "--input", source], "truncated");
    }

    private int ImportStories(string output) =>
        TrainerCli.Run("import", "llama2c", "--checkpoint", SharedPaths.Stories260KCheckpoint, "--tokenizer", SharedPaths.Stories260KTokenizer, "--output", output);

    private string HfCopy(Action<JsonObject> editConfig)
    {
        var source = _temp[$"hf-{Guid.NewGuid():N}"];
        DirectoryCopy.Copy(fixture.Model.Root, source);
        var configPath = Path.Combine(source, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        editConfig(config);
        File.WriteAllText(configPath, config.ToJsonString());
        return source;
    }

    /// <summary>Runs the CLI into a fresh output under an empty parent; asserts exit 2, the message, and that nothing was left behind.</summary>
    private void AssertFailsWithoutOutput(string[] args, params string[] messageParts)
    {
        var parent = _temp[$"out-{Guid.NewGuid():N}"];
        Directory.CreateDirectory(parent);
        var error = new StringWriter();
        var original = Console.Out;
        int exit;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(error) });
        try
        {
            exit = TrainerCli.Run([.. args, "--output", Path.Combine(parent, "model")]);
        }
        finally
        {
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(original) });
        }
        Assert.Equal(CliErrors.BadInput, exit);
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
        var message = error.ToString();
        Assert.Contains("error:", message);
        foreach (var part in messageParts) Assert.Contains(part, message, StringComparison.OrdinalIgnoreCase);
    }
}
