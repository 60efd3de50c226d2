using System.Text.Json.Nodes;
using Uld.Contracts.Models;
using Uld.Trainer.Model;
using static TorchSharp.torch;

namespace Uld.Trainer.Import;

/// <summary>
/// A model directory of any supported config.json with random weights and a given tokenizer: real shapes for tests,
/// benchmarks and memory sizing without downloading a checkpoint. Weights follow transformers' initialisation
/// (linear and embedding weights N(0, initializer_range), norms one, biases zero) from a fixed seed.
/// </summary>
public static class RandomModel
{
    private const double DefaultInitializerRange = 0.02;

    public static ModelManifest Write(string configPath, string tokenizerFolder, string output, int seed, string? name,
        ModelPackage.Options options, Action<string>? progress = null)
    {
        if (!File.Exists(configPath)) throw new ModelFormatException($"{configPath} does not exist.");
        if (!File.Exists(Path.Combine(tokenizerFolder, ModelDirectory.TokenizerFile)))
            throw new ModelFormatException($"{tokenizerFolder} has no {ModelDirectory.TokenizerFile}.");
        var config = LlamaConfig.Load(configPath) with { TorchDtype = "float32" };
        var range = config.Extra?.TryGetValue("initializer_range", out var r) == true && r.TryGetDouble(out var value) ? value : DefaultInitializerRange;

        progress?.Invoke("initialising random weights");
        using var model = new LlamaForCausalLM(config);
        // A generator of its own, not the process-wide one (which constructing the model above also draws from): the
        // same seed gives the same weights whatever else in the process draws random numbers.
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (parameterName, parameter) in model.named_parameters())
            {
                if (parameterName.EndsWith("norm.weight", StringComparison.Ordinal)) parameter.fill_(1);
                else if (parameterName.EndsWith(".bias", StringComparison.Ordinal)) parameter.zero_();
                else parameter.normal_(0, range, generator);
            }
        }
        model.eval();

        var generation = new GenerationConfig
        {
            BosTokenId = config.BosTokenId,
            EosTokenId = config.EosTokenId switch
            {
                JsonArray ids when ids.Count > 0 => ids[0]!.GetValue<int>(),
                JsonValue id => id.GetValue<int>(),
                _ => null,
            },
            PadTokenId = config.PadTokenId,
            MaxLength = config.MaxPositionEmbeddings,
        };
        var manifest = new ModelManifest
        {
            Name = name ?? Path.GetFileName(Path.GetFullPath(output)),
            Role = ModelRoles.Imported,
            Method = "random-init",
            Hyperparameters = new JsonObject { ["seed"] = seed, ["initializer_range"] = range },
        };
        return ModelPackage.Write(output, model, TokenizerFiles.FromFolder(tokenizerFolder), generation, manifest, options with { ReleaseModelAfterWrite = true }, progress);
    }
}
