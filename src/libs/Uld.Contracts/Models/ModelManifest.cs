using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Uld.Contracts.Models;

/// <summary>Roles a model directory can play (docs/DESIGN.md, *Contract 1: the model directory*).</summary>
public static class ModelRoles
{
    public const string Target = "target";
    public const string Retain = "retain";
    public const string UldAssistant = "uld-assistant";
    public const string Unlearned = "unlearned";
    /// <summary>Offset unlearning: the small model as it was, subtracted from the unlearned one at decode time.</summary>
    public const string OffsetReference = "offset-reference";
    /// <summary>Offset unlearning: the small model after unlearning; its offset from the reference is added to the base.</summary>
    public const string OffsetUnlearned = "offset-unlearned";
    public const string Imported = "imported";
}

public sealed record DataFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>manifest.json: what a model directory holds, how it was made, and the sha256 of every file.</summary>
public sealed record ModelManifest
{
    public const string FileName = "manifest.json";

    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = 1;
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "LlamaForCausalLM";
    [JsonPropertyName("role")] public required string Role { get; init; }
    [JsonPropertyName("base_model")] public string? BaseModel { get; init; }
    [JsonPropertyName("method")] public string? Method { get; init; }
    [JsonPropertyName("hyperparameters")] public JsonObject? Hyperparameters { get; init; }
    [JsonPropertyName("source")] public JsonObject? Source { get; init; }
    [JsonPropertyName("training_data")] public IReadOnlyList<DataFile>? TrainingData { get; init; }
    [JsonPropertyName("metrics")] public JsonObject? Metrics { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>Relative path (forward slashes) → lowercase hex sha256, for every file except the manifest itself.</summary>
    [JsonPropertyName("files")] public IReadOnlyDictionary<string, string> Files { get; init; } = new SortedDictionary<string, string>();

    public static ModelManifest Load(string path) => Json.ReadFile<ModelManifest>(path, "manifest");

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json.Options));
}
