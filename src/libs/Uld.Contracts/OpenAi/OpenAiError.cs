using System.Text.Json.Serialization;

namespace Uld.Contracts.OpenAi;

public sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>The OpenAI error envelope: {"error": {message, type, param, code}}.</summary>
public sealed record ErrorResponse([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>An error to report to an OpenAI client, with its HTTP status.</summary>
public sealed class OpenAiException(int status, string message, string type, string? param = null, string? code = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    /// <summary>Seconds a client should wait before retrying (429/503), if any.</summary>
    public int? RetryAfterSeconds { get; init; }

    public ErrorResponse ToResponse() => new(new ErrorBody(Message, Type, Param, Code));

    public static OpenAiException InvalidRequest(string message, string? param = null, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);

    /// <summary>A field the server recognises but does not implement, sent with a value that would change the output.</summary>
    public static OpenAiException Unsupported(string param, string message) =>
        InvalidRequest($"Unsupported parameter: '{param}' {message}", param, "unsupported_parameter");

    /// <summary>A number outside its range, in the official API's wording and codes.</summary>
    public static OpenAiException OutOfRange(string param, double value, double min, double max, bool integer = false)
    {
        var kind = integer ? "integer" : "decimal";
        var (side, bound, relation) = value < min ? ("below_min", min, ">=") : ("above_max", max, "<=");
        return InvalidRequest(
            FormattableString.Invariant($"Invalid '{param}': {kind} {(value < min ? "below minimum" : "above maximum")} value. Expected a value {relation} {bound}, but got {value} instead."),
            param, $"{kind}_{side}_value");
    }

    public static OpenAiException ModelNotFound(string model) =>
        new(404, $"The model '{model}' does not exist.", "invalid_request_error", "model", "model_not_found");

    public static OpenAiException Overloaded(string message, int retryAfterSeconds) =>
        new(503, message, "server_error", null, "server_overloaded") { RetryAfterSeconds = retryAfterSeconds };
}
