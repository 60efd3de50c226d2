using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Uld.Contracts.Models;

namespace Uld.Contracts;

/// <summary>One JSON style for every file the project writes: indented, nulls omitted, non-ASCII kept readable.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>For records without explicit names (e.g. hyper-parameters in a manifest): snake_case like the rest of the files.</summary>
    public static readonly JsonSerializerOptions SnakeCase = new(Options) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Reads a JSON file of the model directory; malformed or empty files are a <see cref="ModelFormatException"/> naming the file.</summary>
    public static T ReadFile<T>(string path, string what) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options) ?? throw new ModelFormatException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path} is not a valid {what}: {e.Message}");
        }
    }
}
