using System.Text.Json.Nodes;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Trainer.Safetensors;
using Uld.Tokenization;
using Uld.Trainer.Model;
using Uld.Trainer.Onnx;

namespace Uld.Trainer.Import;

/// <summary>The tokenizer files of a model directory.</summary>
public sealed record TokenizerFiles(JsonObject TokenizerJson, JsonObject TokenizerConfig)
{
    public static TokenizerFiles FromSentencePiece(IReadOnlyList<VocabPiece> pieces, SpecialTokenIds ids, int maxLength, string? chatTemplate = null)
    {
        var config = new JsonObject
        {
            ["tokenizer_class"] = "LlamaTokenizerFast",
            ["bos_token"] = pieces[ids.Bos].Piece,
            ["eos_token"] = pieces[ids.Eos].Piece,
            ["unk_token"] = pieces[ids.Unk].Piece,
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = maxLength,
        };
        if (chatTemplate is not null) config["chat_template"] = chatTemplate;
        return new TokenizerFiles(SentencePieceTokenizerJson.Create(pieces, ids), config);
    }

    /// <summary>The tokenizer of an existing model directory, for models derived from it (same vocabulary, same bytes).</summary>
    public static TokenizerFiles FromDirectory(ModelDirectory directory) => FromFolder(directory.Root);

    /// <summary>tokenizer.json and (if present) tokenizer_config.json of a folder, e.g. the output of `tokenizer train`.</summary>
    public static TokenizerFiles FromFolder(string folder)
    {
        var config = Path.Combine(folder, ModelDirectory.TokenizerConfigFile);
        return new TokenizerFiles(
            JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ModelDirectory.TokenizerFile)))!.AsObject(),
            File.Exists(config) ? JsonNode.Parse(File.ReadAllText(config))!.AsObject() : []);
    }
}

/// <summary>
/// Writes a complete model directory (docs/DESIGN.md, Contract 1) atomically: config, weights, tokenizer, generation config, the
/// ONNX export, and a manifest with hashes. Before committing it proves the directory usable: the tokenizer loads
/// through the project's tokenizer (Uld.Tokenization, as LogitServer will) and the ONNX logits match TorchSharp's on a probe batch.
/// </summary>
public static class ModelPackage
{
    public sealed record Options
    {
        public bool Overwrite { get; init; }
        public long ExternalDataThreshold { get; init; } = OnnxModelWriter.DefaultExternalDataThreshold;
        /// <summary>Export parity bound checked before committing (fp32).</summary>
        public double MaxExportDiff { get; init; } = 1e-4;
        /// <summary>How onnx/model.onnx stores the layers' linear weights; safetensors stay float32 either way.</summary>
        public WeightFormat Weights { get; init; } = WeightFormat.Fp32;
        /// <summary>
        /// Dispose the model once its files are written, before ONNX Runtime loads the export for the parity check:
        /// for callers that are done with it (init, import, export-onnx), so a multi-GB model is never held twice.
        /// </summary>
        public bool ReleaseModelAfterWrite { get; init; }
    }

    public static ModelManifest Write(string output, LlamaForCausalLM model, TokenizerFiles tokenizer, GenerationConfig generation,
        ModelManifest manifest, Options options, Action<string>? progress = null)
    {
        using var writer = new ModelDirectoryWriter(output, options.Overwrite);
        progress?.Invoke("writing weights");
        model.Config.Save(writer.PathOf(ModelDirectory.ConfigFile));
        // A view, not a copy: safetensors and ONNX are streamed from the model's parameters tensor by tensor.
        var tensors = new ModelTensors(model);
        SafetensorsFile.Write(writer.PathOf(ModelDirectory.WeightsFile), tensors.Layout, tensors.WriteFloat32, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(writer.PathOf(ModelDirectory.TokenizerFile), tokenizer.TokenizerJson.ToJsonString(Json.Options));
        AtomicFile.WriteAllText(writer.PathOf(ModelDirectory.TokenizerConfigFile), tokenizer.TokenizerConfig.ToJsonString(Json.Options));
        generation.Save(writer.PathOf(ModelDirectory.GenerationConfigFile));

        progress?.Invoke("checking the tokenizer");
        var loaded = ModelTokenizer.Load(writer.Path);
        // Embedding tables may be padded past the tokenizer (Qwen2/3 round 151,665 tokens up to 151,936); never shorter.
        if (loaded.VocabSize > model.Config.VocabSize)
            throw new ModelFormatException($"the tokenizer has {loaded.VocabSize} tokens but config.json says vocab_size {model.Config.VocabSize}.");

        return ExportAndCommit(writer, model, tensors, manifest, options, progress);
    }

    /// <summary>
    /// Rewrites the ONNX export of an existing model directory (e.g. after a format change): the directory is
    /// copied to a staging area, re-exported, re-hashed and swapped in atomically.
    /// </summary>
    public static ModelManifest ReExport(string directory, Options options, Action<string>? progress = null)
    {
        var existing = ModelDirectory.Open(directory);
        using var model = LlamaWeights.LoadDirectory(existing);
        using var writer = new ModelDirectoryWriter(existing.Root, overwrite: true);
        foreach (var file in existing.Manifest.Files.Keys.Where(f => !f.StartsWith("onnx/", StringComparison.Ordinal)))
            File.Copy(existing.PathOf(file), writer.PathOf(file));
        var tensors = new ModelTensors(model);
        return ExportAndCommit(writer, model, tensors, existing.Manifest, options with { Overwrite = true, ReleaseModelAfterWrite = true }, progress);
    }

    private static ModelManifest ExportAndCommit(ModelDirectoryWriter writer, LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> tensors,
        ModelManifest manifest, Options options, Action<string>? progress)
    {
        var architecture = model.Config.Architectures.FirstOrDefault() ?? "LlamaForCausalLM"; // read before the model may be released
        var source = manifest.Source?.DeepClone().AsObject() ?? [];
        source["onnx_export"] = ExportOnnx(writer, model, tensors, options, progress);
        return writer.Commit(manifest with { Source = source, Architecture = architecture });
    }

    /// <summary>Writes onnx/model.onnx into a directory being written, checked against TorchSharp; returns the manifest's record of it.</summary>
    public static JsonObject ExportOnnx(ModelDirectoryWriter writer, LlamaForCausalLM model, IReadOnlyDictionary<string, SafeTensor> tensors,
        Options options, Action<string>? progress = null)
    {
        progress?.Invoke($"exporting ONNX ({options.Weights.ToString().ToLowerInvariant()} weights) and checking it against TorchSharp");
        var drift = OnnxExport.ExportAndVerify(model, tensors, writer.PathOf(ModelDirectory.OnnxFile), options.ExternalDataThreshold,
            options.MaxExportDiff, options.Weights, options.ReleaseModelAfterWrite, servingGraph: true);
        var record = new JsonObject
        {
            ["opset"] = OnnxModelWriter.Opset,
            ["ir_version"] = OnnxModelWriter.IrVersion,
            ["weights"] = options.Weights.ToString().ToLowerInvariant(),
            ["max_abs_diff_vs_torchsharp"] = drift.MaxAbsDiff,
            ["relative_diff_vs_torchsharp"] = drift.Relative,
        };
        if (drift.ServingMaxAbsDiff is { } serving) record["serving_max_abs_diff_vs_model_onnx"] = serving;
        return record;
    }
}
