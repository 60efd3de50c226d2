using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uld.Contracts.OpenAi;

/// <summary>
/// How the project's clients (Gateway, Eval, Bench, Forget) read what LogitServer and the Gateway answer — models,
/// completions, usage, errors — into the records of this namespace that the servers write, rather than by string keys.
/// Numbers must be JSON numbers, and a record's required fields must be there.
/// </summary>
public static class OpenAiWire
{
    public static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = JsonNumberHandling.Strict,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>An answer read as <typeparamref name="T"/>; not JSON, not that record or empty is a <see cref="JsonException"/>.</summary>
    public static T Read<T>(string json) where T : class =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"the answer is empty where a {typeof(T).Name} was expected.");

    /// <summary>The error an OpenAI-shaped error body carries; null when the body is not one (a proxy's HTML page, plain text).</summary>
    public static ErrorBody? Error(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<ErrorResponse>(body, Options)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
