using Uld.Contracts;
using Uld.Contracts.Models;
using System.Text.Json.Nodes;
using Uld.Trainer.Safetensors;
using Uld.Trainer.Import;

namespace Uld.Trainer.Model;

/// <summary>
/// A model made of the first K transformer layers of a base, with the base's embedding, final norm and head — the
/// starting point of a ULD assistant (docs/METHODS.md, *ULD assistant*). It shares the base's vocabulary by construction.
/// </summary>
public static class LayerTruncation
{
    /// <summary>Streamed from the base's file, only the kept tensors and one at a time: a 1B base is not read into memory whole.</summary>
    public static LlamaForCausalLM FirstLayers(ModelDirectory baseDirectory, int layers) =>
        FirstLayers(baseDirectory.Config, layers, keep => SafetensorsFile.Open(baseDirectory.WeightsPath, keep), baseDirectory.WeightsPath);

    public static LlamaForCausalLM FirstLayers(LlamaForCausalLM baseModel, int layers) =>
        FirstLayers(baseModel.Config, layers, keep => LlamaWeights.Export(baseModel).Where(t => keep(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal), "the base model");

    private static LlamaForCausalLM FirstLayers(LlamaConfig config, int layers, Func<Func<string, bool>, IReadOnlyDictionary<string, SafeTensor>> weights, string source)
    {
        if (layers < 1 || layers > config.NumHiddenLayers)
            throw new UserErrorException($"the assistant needs between 1 and {config.NumHiddenLayers} layers of the base; got {layers}.");
        var model = new LlamaForCausalLM(config with { NumHiddenLayers = layers });
        LlamaWeights.Load(model, weights(name => LayerIndex(name) is not { } i || i < layers), source);
        model.eval();
        return model;
    }

    private static int? LayerIndex(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var end = name.IndexOf('.', prefix.Length);
        return int.Parse(name.AsSpan(prefix.Length, end - prefix.Length), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Writes the untrained first-K-layers model as a ULD assistant directory (role uld-assistant, same tokenizer
    /// bytes as the base). Useful on its own to exercise ULD serving before an assistant is trained.
    /// </summary>
    public static ModelManifest WriteAssistant(ModelDirectory baseDirectory, int layers, string output, bool overwrite, Action<string>? progress = null)
    {
        using var model = FirstLayers(baseDirectory, layers);
        return ModelPackage.Write(output, model, TokenizerFiles.FromDirectory(baseDirectory), baseDirectory.Generation, new ModelManifest
        {
            Name = Path.GetFileName(Path.GetFullPath(output)),
            Role = ModelRoles.UldAssistant,
            BaseModel = baseDirectory.Manifest.Name,
            Method = "layer-truncation",
            Hyperparameters = new JsonObject { ["layers"] = layers },
        }, new ModelPackage.Options { Overwrite = overwrite }, progress);
    }
}
