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

    private static string Require(string name) => SharedPaths.Require(Path.Combine(SharedPaths.RepositoryRoot, "models", name));
}
