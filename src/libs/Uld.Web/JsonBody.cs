using System.Text.Json;
using System.Text.Json.Serialization;
using Uld.Contracts.OpenAi;

namespace Uld.Web;

/// <summary>Reads a request body as JSON, turning malformed JSON and wrong types into OpenAI 400 errors naming the field.</summary>
public static class JsonBody
{
    public static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
        // Readable text in responses ("don't", not "don\u0027t"); responses are JSON bodies, never embedded in HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reads the body as <typeparamref name="T"/> with <see cref="Options"/> or stricter <paramref name="options"/>.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken, JsonSerializerOptions? options = null) where T : class
    {
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
            throw OpenAiException.InvalidRequest($"Content-Type must be application/json, not {type}.");
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, options ?? Options, cancellationToken)
                   ?? throw OpenAiException.InvalidRequest("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            var param = e.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null;
            throw OpenAiException.InvalidRequest(
                param is null ? $"The request body is not valid JSON: {e.Message}" : $"Invalid value for '{param}': {FirstSentence(e.Message)}", param);
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] + "." : message;
    }
}
