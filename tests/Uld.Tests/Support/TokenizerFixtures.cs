using System.Text.Json.Nodes;
using Uld.Tests.Support;

namespace Uld.Tests.Support;

/// <summary>
/// Expected ids, decoded text and chat prompts written by Hugging Face's transformers.js
/// (tools/fixtures/generate.mjs) for the real tokenizers in ../shared/tokenizers.
/// </summary>
public static class TokenizerFixtures
{
    public static string Directory => Path.Combine(SharedPaths.RepositoryRoot, "tests", "Uld.Tests", "Fixtures", "tokenizers");

    /// <summary>A real tokenizer's folder (tokenizer.json + tokenizer_config.json), used in place.</summary>
    public static string TokenizerDirectory(string name) => SharedPaths.Require(Path.Combine(SharedPaths.Shared, "tokenizers", name));

    public static JsonArray Cases(string file) =>
        JsonNode.Parse(File.ReadAllText(SharedPaths.Require(Path.Combine(Directory, file))))!["cases"]!.AsArray();

    public static int[] Ints(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
}
