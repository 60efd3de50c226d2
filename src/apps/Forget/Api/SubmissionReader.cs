using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Forget.Configuration;

namespace Uld.Forget.Api;

/// <summary>
/// Checks a <c>POST /v1/forget-requests</c> body field by field (docs/FORGET-REQUESTS.md, *API*): known fields only,
/// each of its type, a configured deployment, a supported method, and data the trainer will accept. Every refusal is a
/// 400 naming the field; nothing is stored until the whole body passed.
/// </summary>
public sealed class SubmissionReader(ForgetOptions options, DataSetReader data)
{
    public const int MaxSubmittedByLength = 256;
    public static readonly IReadOnlyList<string> Methods = ["uld"];
    private static readonly HashSet<string> Fields = ["deployment", "forget", "retain", "method", "submitted_by"];

    public sealed record Submission(string Deployment, string Method, string SubmittedBy, DataSetReader.Checked Forget, DataSetReader.Checked? Retain);

    public Submission Read(JsonObject body)
    {
        if (body.Select(p => p.Key).FirstOrDefault(k => !Fields.Contains(k)) is { } unknown)
            throw OpenAiException.InvalidRequest($"Unknown field '{unknown}'; a forget request has {string.Join(", ", Fields)}.", unknown, "unknown_field");
        var deployment = RequiredString(body, "deployment");
        if (!options.Deployments.ContainsKey(deployment))
            throw OpenAiException.InvalidRequest($"The deployment '{deployment}' is not one this service may change.", "deployment", "deployment_not_found");
        var method = body.ContainsKey("method") ? RequiredString(body, "method") : "uld";
        if (!Methods.Contains(method))
            throw OpenAiException.InvalidRequest($"The method '{method}' is not deployed by this service; use {string.Join(", ", Methods)}.", "method", "unsupported_method");
        var submittedBy = RequiredString(body, "submitted_by");
        if (submittedBy.Length > MaxSubmittedByLength || submittedBy.Any(char.IsControl))
            throw OpenAiException.InvalidRequest($"'submitted_by' must be at most {MaxSubmittedByLength} characters without control characters.", "submitted_by", "invalid_value");
        var forget = body["forget"] ?? throw OpenAiException.InvalidRequest("'forget' is required: the records to forget.", "forget", "missing_field");
        var retain = body["retain"];
        return new Submission(deployment, method, submittedBy, data.Read("forget", forget), retain is null ? null : data.Read("retain", retain));
    }

    private static string RequiredString(JsonObject body, string field)
    {
        if (body[field] is not JsonValue value || !value.TryGetValue<string>(out var text))
            throw OpenAiException.InvalidRequest($"'{field}' is required and must be a string.", field, body.ContainsKey(field) ? "invalid_type" : "missing_field");
        return string.IsNullOrWhiteSpace(text) ? throw OpenAiException.InvalidRequest($"'{field}' is empty.", field, "invalid_value") : text;
    }
}
