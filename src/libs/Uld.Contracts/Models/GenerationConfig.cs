using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uld.Contracts.Models;

/// <summary>Hugging Face generation_config.json: the special token ids and default length.</summary>
public sealed record GenerationConfig
{
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    [JsonPropertyName("max_length")] public int? MaxLength { get; init; }
    [JsonPropertyName("do_sample")] public bool? DoSample { get; init; }

    public static GenerationConfig Load(string path) => Json.ReadFile<GenerationConfig>(path, "generation config");

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json.Options));
}
