using Microsoft.Extensions.Configuration;

namespace Uld.Tests.Support;

/// <summary>
/// The small default models committed under models/ (ONNX + tokenizer, no training weights): a real Llama served by
/// ONNX Runtime without TorchSharp, for fast engine tests.
/// </summary>
public static class RepositoryModels
{
    /// <summary>TOFU-mini target: 4 layers, 2 KV heads, byte-level BPE vocabulary of 1024.</summary>
    public static string Target => Require("tofu-mini-target");

    /// <summary>The ULD assistant of <see cref="Target"/> (forget4).</summary>
    public static string UldAssistant => Require("tofu-mini-uld");

    /// <summary><see cref="Target"/> unlearned on forget4 by NPO+GD: the same shape and tokenizer, other weights.</summary>
    public static string NpoGd => Require("tofu-mini-npo-gd");

    /// <summary>
    /// LogitServer settings of models/deployments.json as quickstart.sh serves it: its relative model paths are relative
    /// to the repository root, where quickstart.sh runs.
    /// </summary>
    public static Dictionary<string, string?> DefaultDeploymentSettings()
    {
        var root = SharedPaths.RepositoryRoot;
        return new ConfigurationBuilder().AddJsonFile(Path.Combine(root, "models", "deployments.json")).Build().AsEnumerable()
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Key.EndsWith(":Model", StringComparison.Ordinal) || kv.Key.EndsWith(":Base", StringComparison.Ordinal)
                || kv.Key.EndsWith(":Assistant", StringComparison.Ordinal) ? Path.Combine(root, kv.Value!) : kv.Value);
    }

    private static string Require(string name) => SharedPaths.Require(Path.Combine(SharedPaths.RepositoryRoot, "models", name));
}
