using System.Text.Json.Serialization;

namespace Uld.Contracts.OpenAi;

/// <summary>
/// The answer of the Gateway's <c>POST /v1/compare</c>: one result per model asked, in the order asked, each the
/// model's chat completion or its error (docs/DESIGN.md, *Contract 3: the API and its ULD extensions*).
/// </summary>
public sealed record Comparison(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("results")] IReadOnlyList<ComparisonResult> Results)
{
    public const string ObjectName = "comparison";
}

/// <summary>One model's answer within a <see cref="Comparison"/>: its HTTP status and either the completion or the error.</summary>
public sealed record ComparisonResult(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("response")] ChatCompletion? Response,
    [property: JsonPropertyName("error")] ErrorBody? Error);
