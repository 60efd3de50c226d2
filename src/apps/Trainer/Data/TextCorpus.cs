using System.Text.Json;
using Uld.Contracts.Models;

namespace Uld.Trainer.Data;

/// <summary>Text fields read from JSON Lines files (TOFU's format): every string, or string-array, value of the named fields.</summary>
public static class TextCorpus
{
    public static IEnumerable<string> Read(IEnumerable<string> paths, IReadOnlyCollection<string> fields)
    {
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new ModelFormatException($"corpus file {path} does not exist.");
            var lineNumber = 0;
            foreach (var line in File.ReadLines(path))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                JsonDocument record;
                try
                {
                    record = JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    throw new ModelFormatException($"{path}:{lineNumber} is not a JSON object: {e.Message}");
                }
                using (record)
                {
                    foreach (var field in fields)
                    {
                        if (!record.RootElement.TryGetProperty(field, out var value)) continue;
                        if (value.ValueKind == JsonValueKind.String) yield return value.GetString()!;
                        else if (value.ValueKind == JsonValueKind.Array)
                        {
                            foreach (var item in value.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.String)) yield return item.GetString()!;
                        }
                    }
                }
            }
        }
    }
}
