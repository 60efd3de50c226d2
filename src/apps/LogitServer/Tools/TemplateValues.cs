using System.Text.Json;

namespace Uld.LogitServer.Tools;

/// <summary>JSON from a request as chat-template values (the Python objects apply_chat_template would see).</summary>
public static class TemplateValues
{
    public static object? From(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) =>
        {
            d[p.Name] = From(p.Value);
            return d;
        }),
        JsonValueKind.Array => value.EnumerateArray().Select(From).ToList(),
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.TryGetInt64(out var l) ? l : value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
