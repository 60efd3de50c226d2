using System.Text.Json.Nodes;

namespace Uld.Web;

/// <summary>
/// Finds a ULD control (a key starting with "uld") where none is read: misspelt at the top of a body, or nested in
/// another object. Both the gateway and LogitServer refuse such a field, since a misplaced control would otherwise
/// silently do nothing (and a floor check could be sidestepped by whoever reads it later).
/// </summary>
public static class UldControlFields
{
    /// <summary>The JSON path of the first "uld*" key at or below <paramref name="path"/>, or null.</summary>
    public static string? Find(string path, JsonNode? value)
    {
        if (path[(path.LastIndexOfAny(['.', ']']) + 1)..].StartsWith("uld", StringComparison.OrdinalIgnoreCase)) return path;
        return value switch
        {
            JsonObject o => o.Select(p => Find($"{path}.{p.Key}", p.Value)).FirstOrDefault(p => p is not null),
            JsonArray a => a.Select((e, i) => Find($"{path}[{i}]", e)).FirstOrDefault(p => p is not null),
            _ => null,
        };
    }
}
