using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Net.Http.Headers;
using Uld.Contracts.OpenAi;

namespace Uld.Web;

/// <summary>
/// Reads a request body as one JSON object and refuses anything two parsers could read differently: duplicate keys
/// (compared case-insensitively, so <c>model</c> and <c>Model</c> cannot both be sent), numbers that do not fit a
/// finite double (<c>1e400</c>), trailing content, and non-JSON media types. A component that checks a body and then
/// forwards it can rely on every later reader seeing the same values it checked.
/// </summary>
public static class StrictJsonBody
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static async Task<JsonObject> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        RequireJsonMediaType(request.ContentType);
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return ParseObject(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    public static JsonObject ParseObject(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw OpenAiException.InvalidRequest($"The request body is not valid JSON: {FirstSentence(e.Message)}", null, "invalid_json");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw OpenAiException.InvalidRequest("The request body must be a JSON object.", null, "invalid_json");
            Check(document.RootElement, "");
            return JsonObject.Create(document.RootElement.Clone())!;
        }
    }

    private static void RequireJsonMediaType(string? contentType)
    {
        var ok = MediaTypeHeaderValue.TryParse(contentType, out var media)
                 && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                     || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
                 && (media.Charset.Length == 0 || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
        if (!ok)
        {
            throw new OpenAiException(415, $"Content-Type must be application/json (UTF-8), not '{contentType ?? "(none)"}'.",
                "invalid_request_error", null, "unsupported_media_type");
        }
    }

    private static void Check(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var property in element.EnumerateObject())
                {
                    var field = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    if (!seen.Add(property.Name))
                        throw OpenAiException.InvalidRequest($"The key '{field}' appears more than once.", field, "duplicate_key");
                    Check(property.Value, field);
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray()) Check(item, $"{path}[{index++}]");
                break;
            case JsonValueKind.Number:
                // A double that overflows parses as ±Infinity in .NET; refuse it rather than let readers disagree.
                if (!double.TryParse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                    throw OpenAiException.InvalidRequest($"'{path}' must be a finite number.", path, "invalid_number");
                break;
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
