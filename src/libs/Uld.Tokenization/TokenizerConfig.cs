using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.Models;

namespace Uld.Tokenization;

/// <summary>tokenizer_config.json of a model directory: the special-token names, add_bos_token and the chat template.</summary>
public sealed class TokenizerConfig
{
    public static TokenizerConfig Empty { get; } = new(new JsonObject());

    private readonly JsonObject _json;

    private TokenizerConfig(JsonObject json) => _json = json;

    public JsonNode? this[string key] => _json[key];

    public static TokenizerConfig Load(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, ModelDirectory.TokenizerConfigFile);
        if (!File.Exists(path)) return Empty;
        try
        {
            return new TokenizerConfig(JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty file"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFormatException($"{path} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>A special token's text (e.g. "bos_token"), written either as a string or as an AddedToken object with "content".</summary>
    public string? SpecialToken(string key) => _json[key] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    /// <summary>Whether the key is written at all (a null bos_token means "none", unlike a missing one).</summary>
    public bool Has(string key) => _json.ContainsKey(key);

    public bool? Flag(string key) => _json[key] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public string? ChatTemplate => _json["chat_template"] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        // The list form names several templates; "default" is the one apply_chat_template uses without tools.
        JsonArray list => list.FirstOrDefault(t => t?["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
        _ => null,
    };
}
